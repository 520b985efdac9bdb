// Several calls of a map-like call in one task (the `chunkSize` option, as
// Python's Executor.map(chunksize=)): fewer, longer tasks for tiny functions.
// Each call still has its own future that succeeds or fails on its own.
// Runtime-agnostic: bundled into the Web Worker runtime too.
//
// On the wire a chunk is a task with `chunk: true` whose args pack the calls'
// argument lists and whose result packs one ChunkOutcome per call.
import type { RemoteErrorInfo } from '../protocol/messages.ts';
import { ErrorCode, LadleError, RemoteError } from './errors.ts';
import { Future } from './future.ts';
import { copyError } from './map-errors.ts';

/** One call's outcome in a chunk's result: its value, or the error it threw. */
export type ChunkOutcome = [1, unknown] | [0, RemoteErrorInfo];

export const MAX_CHUNK_SIZE = 100_000;

/** The `chunkSize` option, checked; 1 (no chunking) when absent. */
export function chunkSizeOf(options: { chunkSize?: unknown }): number {
  const n = options.chunkSize ?? 1;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_CHUNK_SIZE) {
    throw new TypeError(`chunkSize must be a whole number from 1 to ${MAX_CHUNK_SIZE}, not ${String(n)}`);
  }
  return n;
}

/** The calls' outcomes in a chunk's result, checked: it comes from a page. */
export function chunkOutcomes(value: unknown, calls: number): ChunkOutcome[] {
  if (!Array.isArray(value) || value.length !== calls) {
    throw new Error(`a chunk of ${calls} calls came back malformed (${Array.isArray(value) ? `${value.length} outcomes` : typeof value})`);
  }
  for (const o of value) {
    const ok = Array.isArray(o) && o.length === 2 && (o[0] === 1 || (o[0] === 0 && isErrorInfo(o[1])));
    if (!ok) throw new Error(`a chunk of ${calls} calls came back with a malformed outcome`);
  }
  return value as ChunkOutcome[];
}

function isErrorInfo(x: unknown): x is RemoteErrorInfo {
  if (typeof x !== 'object' || x === null) return false;
  const { name, message, stack } = x as Record<string, unknown>;
  return typeof name === 'string' && typeof message === 'string' && (stack === undefined || typeof stack === 'string');
}

/** Submits one chunk task for these argument lists. */
export type ChunkSubmit = (calls: unknown[][]) => Future<unknown>;

interface Call {
  args: unknown[];
  future: Future<unknown>;
  chunk: Chunk;
  live: boolean;
}
interface Chunk {
  calls: Call[];
  /** Calls not cancelled: when none is left, the chunk task is withdrawn. */
  live: number;
  /** Its task, once submitted. */
  task?: Future<unknown>;
}

/** Gathers calls into chunks of `size`. A chunk leaves when full or on
 * `flush()`, which a map calls whenever it stops pulling inputs (its window
 * is full, or the inputs ended). */
export class Chunker {
  #open: Chunk = { calls: [], live: 0 };
  readonly #size: () => number;

  constructor(
    private readonly submitChunk: ChunkSubmit,
    /** Calls per chunk; a function when it may change between calls (automatic chunking). */
    size: number | (() => number),
    /** Maps remote stacks of the calls' errors to source lines. */
    private readonly mapStack?: (stack: string) => string,
    /** Told when a chunk's results were too large together (see #send). */
    private readonly tooLarge?: () => void,
  ) {
    this.#size = typeof size === 'number' ? () => size : size;
  }

  /** No call is waiting for its chunk to leave. */
  get idle(): boolean {
    return this.#open.calls.length === 0;
  }

  add(args: unknown[]): Future<unknown> {
    const chunk = this.#open;
    const call = { args, chunk, live: true } as Call;
    call.future = new Future<unknown>(() => this.#cancel(call));
    chunk.calls.push(call);
    chunk.live++;
    if (chunk.calls.length >= this.#size()) this.flush();
    return call.future;
  }

  flush(): void {
    const chunk = this.#open;
    if (chunk.calls.length === 0) return;
    this.#open = { calls: [], live: 0 };
    chunk.calls = chunk.calls.filter((c) => c.live);
    if (chunk.calls.length > 0) this.#send(chunk);
  }

  #send(chunk: Chunk): void {
    let task: Future<unknown> | undefined;
    let refused: unknown;
    try {
      task = this.submitChunk(chunk.calls.map((c) => c.args));
    } catch (e) {
      refused = { error: e };
    }
    if (chunk.calls.length > 1 && (task === undefined || task.failed())) {
      // Refused on the spot (arguments that cannot be encoded, say): call
      // by call, so that only the guilty call fails.
      for (const call of chunk.calls) this.#send((call.chunk = { calls: [call], live: 1 }));
      return;
    }
    if (task === undefined) {
      chunk.calls[0].future.setException((refused as { error: unknown }).error);
      return;
    }
    chunk.task = task;
    task.onRunning(() => {
      for (const call of chunk.calls) call.future.setRunning();
    });
    task.then(
      (value) => {
        let outcomes: ChunkOutcome[];
        try {
          outcomes = chunkOutcomes(value, chunk.calls.length);
        } catch (e) {
          for (const call of chunk.calls) call.future.setException(copyError(e));
          return;
        }
        // Cancelled calls' futures are done already and ignore this.
        outcomes.forEach(([ok, v], i) => {
          const future = chunk.calls[i].future;
          if (ok === 1) future.setResult(v);
          else future.setException(new RemoteError(v, this.mapStack));
        });
      },
      (e: unknown) => {
        // Results that fit one by one need not fit together in one task's
        // result: each call goes again alone, and only one whose own result
        // is over the limit fails. (An automatic chunk is about 2 ms of
        // work, so little runs twice; see auto-chunk.ts.)
        if (chunk.calls.length > 1 && e instanceof LadleError && e.code === ErrorCode.TOO_LARGE) {
          this.tooLarge?.();
          for (const call of chunk.calls) this.#send((call.chunk = { calls: [call], live: 1 }));
          return;
        }
        // The whole task failed (timed out, lost, cancelled, its bundle missing): every call with it.
        for (const call of chunk.calls) call.future.setException(copyError(e));
      },
    );
  }

  /** A call is withdrawn while its chunk has not started; the chunk's task
   * goes only once none of its calls is wanted. */
  #cancel(call: Call): boolean {
    if (!call.live) return true;
    const chunk = call.chunk;
    if (chunk.task !== undefined && chunk.task.state !== 'pending') return false;
    call.live = false;
    if (--chunk.live === 0 && chunk.task !== undefined) chunk.task.cancel();
    return true;
  }
}
