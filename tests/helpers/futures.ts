// Shared by the unit tests of the futures combinators: futures settled by
// hand, and a seeded random order so a failing case can be replayed.
import { Future } from '../../futures/future.ts';

/** Lets queued microtasks and one macrotask run. */
export const tick = () => new Promise((r) => setImmediate(r));

/** A submit that records each future for the test to settle. */
export function driver() {
  const submitted: { args: unknown[]; future: Future<unknown> }[] = [];
  const submit = (args: unknown[]) => {
    const future = new Future<unknown>(() => true);
    submitted.push({ args, future });
    return future;
  };
  return { submitted, submit };
}

/** Seeded PRNG (mulberry32). */
export function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Polls a condition on SDK state until it holds (futures have no "started"
 * event to await); fails after `timeoutMs`. */
export async function until(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
