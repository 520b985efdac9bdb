// Timers for any duration a user may give. setTimeout fires at once for
// delays past 2**31-1 ms (about 24.8 days; Node warns of an overflow), so a
// longer wait is made of shorter ones against a deadline, and Infinity never
// fires. Runtime-agnostic: bundled into the Web Worker runtime too.

/** The longest delay setTimeout honours. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** What a long timer needs of its environment; tests inject a fake one. */
export interface TimerHost {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: TimerHost = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Calls `fn` once `ms` milliseconds have passed (never for Infinity);
 * returns a function that cancels it. */
export function after(ms: number, fn: () => void, timers: TimerHost = realTimers): () => void {
  if (ms === Infinity) return () => undefined;
  const deadline = timers.now() + ms;
  let handle: unknown;
  const arm = () => {
    const left = deadline - timers.now();
    handle = left > MAX_TIMER_MS ? timers.setTimeout(arm, MAX_TIMER_MS) : timers.setTimeout(fn, Math.max(0, left));
  };
  arm();
  return () => timers.clearTimeout(handle);
}
