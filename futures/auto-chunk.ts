// Automatic chunk size for map-like calls given no `chunkSize` (see
// chunking.ts): tiny functions travel many calls to a task, so that a map of
// microsecond calls costs a few tasks instead of one task per call; a
// function whose calls take milliseconds keeps one task per call, so work
// spreads over every thread of the grid.
//
// Sized by how long the function's tasks ran where they ran: a page (or a
// local worker thread) times each task and the time comes back with its
// result (`ms`). Timings taken in the SDK would mostly measure the trip, which
// on a busy machine is longer than the work a chunk should hold. A function
// starts at one task per call; once timed, a chunk holds about TARGET_MS of
// its calls. Browsers coarsen their clocks (to 0.1 ms), so a lone
// microsecond call reads 0 or 0.1 ms; the running mean still comes out near
// the truth, and chunks, whose times are longer, refine it.
import type { Future } from './future.ts';

/** About how much work one automatic chunk holds: long enough that a task's
 * fixed cost (a few tens of microseconds of CPU along the way) is small
 * beside it, short enough that chunks still spread over threads. */
export const TARGET_MS = 2;
/** Weight of the newest observation in the running estimate. */
const ALPHA = 0.3;
/** How many times the estimate one observation may count as. */
const OUTLIER = 4;
/** A browser's clock step: an estimate of 0 (calls too quick to see) still lets a real time in. */
const CLOCK_STEP_MS = 0.1;

/** The automatic chunking of one task function, as FuturesApi uses it. */
export interface AutoChunk {
  /** Calls per task now: 1 (one plain task per call) until the function is known to be quick. */
  size(): number;
  /** Watches a submitted task of `calls` calls, to learn from its timing. */
  watch(task: Future<unknown>, calls: number): void;
  /** A chunk's results were too large together: from now on, one task per call. */
  tooLarge(): void;
  /** Maps a remote stack to source lines, as for a task of one call. */
  mapStack?: (stack: string) => string;
}

/** How long a task ran, as its result said (see Grid's settle). */
export const ranMs = new WeakMap<Future<unknown>, number>();

/** Per task function, how long one call runs, in ms (a running mean). */
export class CallTimes {
  readonly #perCall = new Map<unknown, number>();
  /** Functions whose results are too large to gather several in one task. */
  readonly #unchunked = new Set<unknown>();

  /** `key` names the function (bundle and export); `mapStack` as in AutoChunk. */
  for(key: unknown, mapStack?: (stack: string) => string): AutoChunk {
    return {
      size: () => (this.#unchunked.has(key) ? 1 : sizeFor(this.#perCall.get(key))),
      tooLarge: () => void this.#unchunked.add(key),
      watch: (task, calls) => {
        task.addDoneCallback((f) => {
          const ms = ranMs.get(f);
          if (ms !== undefined) this.observe(key, ms / calls);
        });
      },
      mapStack,
    };
  }

  observe(key: unknown, msPerCall: number): void {
    const before = this.#perCall.get(key);
    if (before === undefined) {
      this.#perCall.set(key, msPerCall);
      return;
    }
    // A time far above the estimate is most often a preempted thread on a
    // busy device, not a slower call: it counts as at most OUTLIER times the
    // estimate, so one such task cannot undo chunking, while calls that did
    // get slower still double the estimate about every observation.
    const sample = Math.min(msPerCall, Math.max(OUTLIER * before, CLOCK_STEP_MS));
    this.#perCall.set(key, before + ALPHA * (sample - before));
  }

  /** The estimate for `key`, in ms per call (undefined until observed). */
  estimate(key: unknown): number | undefined {
    return this.#perCall.get(key);
  }
}

/** Calls per chunk for an estimate of ms per call. */
export function sizeFor(msPerCall: number | undefined): number {
  if (msPerCall === undefined) return 1;
  if (msPerCall <= 0) return Number.MAX_SAFE_INTEGER;
  return Math.max(1, Math.floor(TARGET_MS / msPerCall));
}
