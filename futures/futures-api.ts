// The map-like calls, built once on a single `submit`, for both sides: the
// SDK's Grid submits to the coordinator, a task inside a Web Worker submits
// subtasks. Runtime-agnostic: no Node or DOM imports.
import type { Future } from './future.ts';
import { splitOptions, unknownOptionError, zipInputs } from './inputs.ts';
import { MapResult } from './map-result.ts';
import { MapAsCompleted } from './map-as-completed.ts';
import { mapReduce } from './map-reduce.ts';
import type { ProgressOptions } from './progress.ts';
import { Chunker, chunkSizeOf } from './chunking.ts';
import type { AutoChunk } from './auto-chunk.ts';

export interface MapOptions extends ProgressOptions {
  /** Calls submitted ahead of the consumer (default 4096). Bounds memory for huge inputs. */
  inFlight?: number;
  /** Calls per task, as Python's Executor.map(chunksize=): for tiny
   * functions, fewer and longer tasks. Unset, the SDK picks it (see
   * auto-chunk.ts; 1 for async inputs and handles with a timeout). Each call still succeeds or
   * fails on its own; a chunk's `timeout` covers all its calls. A chunk
   * leaves when full or when the inputs end, and `inFlight` is then at
   * least 2 x chunkSize, so that full chunks keep leaving while results are consumed. */
  chunkSize?: number;
  /** Names the call's job on the coordinator's dashboard ('lab 3: pi'); calls
   * with the same name count as one job. Inside a task, subtasks count
   * against their parent's job and this is ignored. */
  name?: string;
  /** Its job's weight among this client's jobs (1 to 100, default 1): of the
   * threads the grid gives this client, a job of priority 2 gets twice what
   * one of priority 1 gets. It does not take threads from other clients. */
  priority?: number;
}

export interface Tracker {
  taskDone(failed: boolean): void;
  finish(): void;
}
export type TrackerFactory = (options: ProgressOptions, iterables: readonly unknown[]) => Tracker | undefined;

/** Submits one task; with `chunk`, `args` are several calls' argument lists
 * (see chunking.ts); `job` is what `jobFor` gave the call. */
export type Submitter = (target: unknown, args: unknown[], chunk?: boolean, job?: number) => Future<unknown>;
/** The job a map-like call's tasks count against (undefined: the default);
 * `reduce` when it is a mapReduce (it submits reduce tasks too). */
export type JobFor = (options: MapOptions, iterables: readonly unknown[], reduce: boolean) => number | undefined;

/** Automatic chunking for a task (see auto-chunk.ts); undefined: one task per call. */
export type AutoChunkFor = (target: unknown) => AutoChunk | undefined;

/** How one map-like call submits: a future per call, and `flush` for a
 * chunk still open when the inputs end; and how many calls it keeps in flight. */
interface CallSubmit {
  submit(args: unknown[]): Future<unknown>;
  flush?: () => void;
  inFlight: number;
}

const DEFAULT_IN_FLIGHT = 4096;
/** MapOptions' keys, checked at run time (a JavaScript caller's typo would be ignored). */
const MAP_OPTIONS = Object.keys({ inFlight: 1, chunkSize: 1, name: 1, priority: 1, progress: 1, total: 1, onProgress: 1 } satisfies Record<keyof MapOptions, 1>);

function inFlightOf(options: MapOptions): number {
  const n = options.inFlight ?? DEFAULT_IN_FLIGHT;
  if (!Number.isInteger(n) || n < 1) throw new TypeError(`inFlight must be a whole number of at least 1, not ${String(n)}`);
  return n;
}

export class FuturesApi {
  constructor(
    private readonly submitOne: Submitter,
    private readonly makeTracker?: TrackerFactory,
    private readonly jobFor?: JobFor,
    private readonly autoChunk?: AutoChunkFor,
  ) {}

  /** The submit of one map call: in chunks when asked (or, asked nothing,
   * as automatic chunking decides), counting each call's completion toward its progress. */
  private submitter(target: unknown, options: MapOptions, tracker: Tracker | undefined, iterables: readonly unknown[], job: number | undefined): CallSubmit {
    const size = chunkSizeOf(options);
    const inFlight = size > 1 ? Math.max(inFlightOf(options), 2 * size) : inFlightOf(options);
    let submit = (args: unknown[]): Future<unknown> => this.submitOne(target, args, false, job);
    let flush: (() => void) | undefined;
    // An async input may yield slowly: a chunk waiting to fill would hold back calls that could run.
    const auto = options.chunkSize === undefined && !iterables.some(isAsyncIterable) ? this.autoChunk?.(target) : undefined;
    if (auto) {
      // Chunks stay under a quarter of the window, so full ones keep leaving while it refills.
      const cap = Math.max(1, Math.floor(inFlight / 4));
      const sizeNow = () => Math.min(cap, auto.size());
      const chunker = new Chunker(
        (calls) => {
          const task = this.submitOne(target, calls, true, job);
          auto.watch(task, calls.length);
          return task;
        },
        sizeNow,
        auto.mapStack,
        () => auto.tooLarge(),
      );
      submit = (args) => {
        if (!chunker.idle || sizeNow() > 1) return chunker.add(args);
        const task = this.submitOne(target, args, false, job);
        auto.watch(task, 1);
        return task;
      };
      flush = () => chunker.flush();
    } else if (size > 1) {
      const chunker = new Chunker((calls) => this.submitOne(target, calls, true, job), size);
      submit = (args) => chunker.add(args);
      flush = () => chunker.flush();
    }
    if (tracker) {
      const inner = submit;
      submit = (args) => {
        const f = inner(args);
        f.addDoneCallback((done) => tracker.taskDone(done.cancelled() || done.failed()));
        return f;
      };
    }
    return { submit, flush, inFlight };
  }

  /** Options checked before a tracker may draw anything. */
  private prepare(target: unknown, args: readonly unknown[], reduce = false): { iterables: unknown[]; tracker: Tracker | undefined; job: number | undefined } & CallSubmit {
    const { iterables, options } = splitOptions<MapOptions>(args);
    const unknown = unknownOptionError('a map', options, MAP_OPTIONS);
    if (unknown) throw new TypeError(unknown);
    inFlightOf(options);
    chunkSizeOf(options);
    const job = this.jobFor?.(options, iterables, reduce);
    const tracker = this.makeTracker?.(options, iterables);
    return { iterables, tracker, job, ...this.submitter(target, options, tracker, iterables, job) };
  }

  map(target: unknown, args: readonly unknown[]): MapResult<unknown> {
    const { iterables, tracker, submit, flush, inFlight } = this.prepare(target, args);
    return new MapResult(zipInputs(iterables), submit, inFlight, () => tracker?.finish(), flush);
  }

  mapAsCompleted(target: unknown, args: readonly unknown[]): MapAsCompleted<unknown> {
    const { iterables, tracker, submit, flush, inFlight } = this.prepare(target, args);
    return new MapAsCompleted(zipInputs(iterables), submit, inFlight, () => tracker?.finish(), flush);
  }

  mapReduce(mapTarget: unknown, reduceTarget: unknown, args: readonly unknown[]): Promise<unknown> {
    const { iterables, tracker, submit, flush, inFlight, job } = this.prepare(mapTarget, args, true);
    const result = mapReduce(zipInputs(iterables), submit, (a, b) => this.submitOne(reduceTarget, [a, b], false, job), inFlight, flush);
    return result.finally(() => tracker?.finish());
  }
}

function isAsyncIterable(x: unknown): boolean {
  return typeof x === 'object' && x !== null && Symbol.asyncIterator in x;
}
