// How long each task function takes on this page, from the Web Workers' own
// timings. It decides how many of a function's tasks a worker holds, how many
// ready subtasks leave in one hand-over, and when a lent one is overdue.

/** A task function, as its tasks name it; a chunk of calls times apart from one call. */
export const fnKey = (task: { bundle: string; fn: string; chunk?: true }): string => `${task.bundle}:${task.fn}${task.chunk ? '[]' : ''}`;

/** Until a function has been timed here, assume its tasks are long. */
export const PESSIMISTIC_MS = 1000;

export class Durations {
  private readonly byFn = new Map<string, { ms: number; n: number; awaits: boolean }>();

  /** A plain mean over the first WINDOW timings (the first one, which
   * includes loading the bundle, must not weigh for long), then a moving
   * average that follows change. */
  add(key: string, ms: number, awaited = false): void {
    const d = this.byFn.get(key);
    if (!d) {
      this.byFn.set(key, { ms, n: 1, awaits: awaited });
      return;
    }
    d.n = Math.min(d.n + 1, WINDOW);
    d.ms += (ms - d.ms) / d.n;
    d.awaits ||= awaited;
  }

  /** Whether the function has been seen awaiting (returning a promise). */
  awaits(key: string): boolean {
    return this.byFn.get(key)?.awaits ?? false;
  }

  /** The estimate in ms, or `unknown` for a function never timed here. */
  get(key: string, unknown: number): number {
    return this.byFn.get(key)?.ms ?? unknown;
  }
}

const WINDOW = 10;
