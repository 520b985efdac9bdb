// The task module of the nested scenario: SCOOP's nested chain (func0..func4,
// as in tests/fixtures/scoop.ts) with real computation in each leaf, so that
// the tree is worth spreading over pages. Only Ladle runs it (it imports
// `ladle/task`), so it can be TypeScript, unlike kernels.mjs.
import { asCompleted, map, submit } from 'ladle/task';

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** Computation for about `units` milliseconds-ish (100,000 steps a unit);
 * its result feeds the leaf's answer so that no compiler can drop it. */
function burn(units: number): number {
  let x = 0;
  const n = units * 100_000;
  for (let i = 0; i < n; i++) x += Math.sqrt(i + (x % 7));
  return x;
}

/** func4: x², after burning `units`. */
export function leaf(x: number, units: number): number {
  return burn(units) >= 0 ? x * x : -1;
}

/** func3: maps the leaf over 1..k. */
export async function level3(k: number, units: number): Promise<number> {
  return sum(await map(leaf, range(k), Array(k).fill(units)));
}

/** func2: submits level3 over 1..m and collects them as they complete. */
export async function level2(m: number, units: number): Promise<number> {
  let total = 0;
  for await (const f of asCompleted(range(m).map((k) => submit(level3, k, units)))) total += await f.result();
  return total;
}

/** func1: maps level2 over 1..n. */
export async function level1(n: number, units: number): Promise<number> {
  return sum(await map(level2, range(n), Array(n).fill(units)));
}

/** func0: the one root task; everything else is its subtasks. chain(n) has
 * n(n+1)(n+2)/6 leaves and 2 + n + n(n+1)/2 tasks above them. */
export async function chain(n: number, units: number): Promise<number> {
  return submit(level1, n, units).result();
}

/** The same total work with no nesting at all, in one task: the one-page
 * reference (no scheduler, no messages, one thread). */
export function flatChain(n: number, units: number): number {
  let total = 0;
  for (let m = 1; m <= n; m++) for (let k = 1; k <= m; k++) for (let x = 1; x <= k; x++) total += leaf(x, units);
  return total;
}
