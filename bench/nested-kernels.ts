// The task module of the nested scenario: SCOOP's nested chain (func0..func4,
// as in tests/fixtures/scoop.ts) with real computation in each leaf, so that
// the tree is worth spreading over pages. Only Ladle runs it (it imports
// `ladle-grid/task`), so it can be TypeScript, unlike kernels.mjs.
import { asCompleted, map, submit } from 'ladle-grid/task';

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

/** A subtree's answer, and the milliseconds its leaves spent computing,
 * timed by each leaf where it ran (browsers coarsen the clock to about
 * 0.1 ms; summed over hundreds of leaves of several ms that is noise). */
export interface Sum {
  value: number;
  leafMs: number;
}
const add = (xs: Sum[]): Sum => xs.reduce((a, b) => ({ value: a.value + b.value, leafMs: a.leafMs + b.leafMs }), { value: 0, leafMs: 0 });

/** Computation for about `units` x 1.6 ms (100,000 steps a unit); its
 * result feeds the leaf's answer so that no compiler can drop it. */
function burn(units: number): number {
  let x = 0;
  const n = units * 100_000;
  for (let i = 0; i < n; i++) x += Math.sqrt(i + (x % 7));
  return x;
}

/** func4: x², after burning `units`. */
export function leaf(x: number, units: number): Sum {
  const t0 = performance.now();
  const value = burn(units) >= 0 ? x * x : -1;
  return { value, leafMs: performance.now() - t0 };
}

/** func3: maps the leaf over 1..k. */
export async function level3(k: number, units: number): Promise<Sum> {
  return add(await map(leaf, range(k), Array(k).fill(units)));
}

/** func2: submits level3 over 1..m and collects them as they complete. */
export async function level2(m: number, units: number): Promise<Sum> {
  const parts: Sum[] = [];
  for await (const f of asCompleted(range(m).map((k) => submit(level3, k, units)))) parts.push(await f.result());
  return add(parts);
}

/** func1: maps level2 over 1..n. */
export async function level1(n: number, units: number): Promise<Sum> {
  return add(await map(level2, range(n), Array(n).fill(units)));
}

/** func0: the one root task; everything else is its subtasks. chain(n) has
 * n(n+1)(n+2)/6 leaves and 2 + n + n(n+1)/2 tasks above them. */
export async function chain(n: number, units: number): Promise<Sum> {
  return submit(level1, n, units).result();
}

/** The same leaves with no nesting at all, in one task: what the tree costs
 * on one thread without a scheduler or a message. */
export function flatChain(n: number, units: number): Sum {
  const parts: Sum[] = [];
  for (let m = 1; m <= n; m++) for (let k = 1; k <= m; k++) for (let x = 1; x <= k; x++) parts.push(leaf(x, units));
  return add(parts);
}

/** One task mapping n leaves: the flattest tree, where every subtask that
 * moves is a single leaf. The answer is the sum of x² for x in 1..n. */
export async function spread(n: number, units: number): Promise<Sum> {
  return add(await map(leaf, range(n), Array(n).fill(units)));
}
