// The map-like calls, built once on a single `submit`, for both sides: the
// SDK's Grid submits to the coordinator, a task inside a Web Worker submits
// subtasks. Runtime-agnostic: no Node or DOM imports.
import type { Future } from './future.ts';
import { splitOptions, zipInputs } from './inputs.ts';
import { MapResult } from './map-result.ts';
import { MapAsCompleted } from './map-as-completed.ts';
import { mapReduce } from './map-reduce.ts';
import type { ProgressOptions } from './progress.ts';

export interface MapOptions extends ProgressOptions {
  /** Tasks submitted ahead of the consumer (default 4096). Bounds memory for huge inputs. */
  inFlight?: number;
}

export interface Tracker {
  taskDone(failed: boolean): void;
  finish(): void;
}
export type TrackerFactory = (options: ProgressOptions, iterables: readonly unknown[]) => Tracker | undefined;

export type Submitter = (target: unknown, args: unknown[]) => Future<unknown>;

const DEFAULT_IN_FLIGHT = 4096;

function inFlightOf(options: MapOptions): number {
  const n = options.inFlight ?? DEFAULT_IN_FLIGHT;
  if (!Number.isInteger(n) || n < 1) throw new TypeError(`inFlight must be a whole number of at least 1, not ${String(n)}`);
  return n;
}

export class FuturesApi {
  constructor(
    private readonly submitOne: Submitter,
    private readonly makeTracker?: TrackerFactory,
  ) {}

  /** A submit for one map call, counting completions toward its progress. */
  private submitter(target: unknown, tracker: Tracker | undefined): (args: unknown[]) => Future<unknown> {
    if (!tracker) return (args) => this.submitOne(target, args);
    return (args) => {
      const f = this.submitOne(target, args);
      f.addDoneCallback((done) => tracker.taskDone(done.cancelled() || done.failed()));
      return f;
    };
  }

  map(target: unknown, args: readonly unknown[]): MapResult<unknown> {
    const { iterables, options } = splitOptions<MapOptions>(args);
    const tracker = this.makeTracker?.(options, iterables);
    return new MapResult(zipInputs(iterables), this.submitter(target, tracker), inFlightOf(options), () => tracker?.finish());
  }

  mapAsCompleted(target: unknown, args: readonly unknown[]): MapAsCompleted<unknown> {
    const { iterables, options } = splitOptions<MapOptions>(args);
    const tracker = this.makeTracker?.(options, iterables);
    return new MapAsCompleted(zipInputs(iterables), this.submitter(target, tracker), inFlightOf(options), () => tracker?.finish());
  }

  mapReduce(mapTarget: unknown, reduceTarget: unknown, args: readonly unknown[]): Promise<unknown> {
    const { iterables, options } = splitOptions<MapOptions>(args);
    const tracker = this.makeTracker?.(options, iterables);
    const result = mapReduce(
      zipInputs(iterables),
      this.submitter(mapTarget, tracker),
      (a, b) => this.submitOne(reduceTarget, [a, b]),
      inFlightOf(options),
    );
    return result.finally(() => tracker?.finish());
  }
}
