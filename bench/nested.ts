// Nested work with WebRTC peer offloading on and off, in the same run: two
// grids (each a coordinator process and one browser with 2 pages of 1 Web
// Worker), one with `peerOffload: false`. One root task lands on one page and
// spawns its whole tree there; the other page gets a share only by stealing
// it over WebRTC (on) or from the grid queue after the coordinator has the
// busy page release subtasks to it (off). A third grid with a single page
// times the same tree on one thread: the reference. All three are up
// together and take turns, so a load on the machine hits them alike.
//
// Two trees with the same 364 leaves: SCOOP's chain(12), where the pieces
// that move are mostly whole subtrees, and spread(364), one task mapping
// every leaf, where each piece that moves is one leaf.
import { connect, type Grid, type ModuleHandles } from '../client-sdk/index.ts';
import type { PeerStats, Stats } from '../coordinator/stats.ts';
import type * as Nested from './nested-kernels.ts';
import type { Sum } from './nested-kernels.ts';
import { forkBrowser, forkCoordinator, ms, onCleanup, until, type CoordinatorProcess } from './harness.ts';
import { rate, wall, type Row, type ScenarioResult } from './table.ts';

/** chain(N): 364 leaves and 456 tasks in all for N = 12. */
const N = 12;
const LEAVES = (N * (N + 1) * (N + 2)) / 6;
/** Each leaf burns UNITS x 100,000 square roots (about 1.6 ms a unit). */
const UNITS = Number(process.env.BENCH_NESTED_UNITS ?? 3);
/** Timed chain runs per grid (the median is kept); spread gets 3. */
const RUNS = Number(process.env.BENCH_NESTED_RUNS ?? 5);
const SPREAD_RUNS = 3;
const PAGES = 2;

/** The answer chain(n) must give: the sum over m <= n, k <= m, x <= k of x². */
export function expectedChain(n: number): number {
  let total = 0;
  for (let m = 1; m <= n; m++) for (let k = 1; k <= m; k++) for (let x = 1; x <= k; x++) total += x * x;
  return total;
}
/** The answer spread(n) must give: the sum of x² for x in 1..n. */
const expectedSpread = (n: number) => (n * (n + 1) * (2 * n + 1)) / 6;

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** The timed runs of one job on one grid. */
interface Runs {
  /** Makespans, ms (submit to result, in this process). */
  ms: number[];
  /** The leaves' own time, summed over the leaves, ms. */
  leafMs: number[];
  /** Peer counters' change over each run. */
  offloaded: number[];
  released: number[];
  /** Tasks (subtasks included) each page finished over each run. */
  perPageDone: number[][];
}
const noRuns = (): Runs => ({ ms: [], leafMs: [], offloaded: [], released: [], perPageDone: [] });

interface Mode {
  /** on, off: 2 pages with peer offloading on, off; one: 1 page (the reference). */
  name: 'on' | 'off' | 'one';
  coordinator: CoordinatorProcess;
  grid: Grid;
  mod: ModuleHandles<typeof Nested>;
  chain: Runs;
  spread: Runs;
  /** The same leaves in one task, no nesting (the one-page grid only). */
  flat: Runs;
  linksAfterWarmUp: number;
  close(): Promise<void>;
}

async function startMode(name: Mode['name']): Promise<Mode> {
  // Both processes go on the harness's cleanup list as they start, so a
  // failure anywhere (and Ctrl-C) stops them.
  const coordinator = await forkCoordinator({ peerOffload: name === 'on' });
  const browser = await forkBrowser(coordinator, name === 'one' ? 1 : PAGES, 1);
  if (name === 'on') await until('both pages to register for WebRTC', async () => (await coordinator.stats()).peer.pages === PAGES, 30_000);
  const grid = await connect({ url: coordinator.url, token: coordinator.token });
  const unregister = onCleanup(() => grid.close());
  const mod = await grid.module<typeof Nested>(new URL('./nested-kernels.ts', import.meta.url));
  return {
    name,
    coordinator,
    grid,
    mod,
    chain: noRuns(),
    spread: noRuns(),
    flat: noRuns(),
    linksAfterWarmUp: 0,
    async close() {
      unregister();
      await grid.close();
      await browser.stop();
      await coordinator.stop();
    },
  };
}

const peerOf = async (m: Mode): Promise<PeerStats> => (await m.coordinator.stats()).peer;
const doneByPage = (s: Stats) => new Map(s.perWorker.map((w) => [w.id, w.tasksDone]));

async function check(what: string, got: PromiseLike<Sum>, want: number): Promise<Sum> {
  const sum = await got;
  if (sum.value !== want) throw new Error(`${what}: got ${sum.value}, expected ${want}`);
  return sum;
}

/** Bundles cached on the pages, links opened (on), and leaf() hot on both
 * pages' V8 by call count (see "Why the Monte Carlo runs warm up"). */
async function warmUp(m: Mode): Promise<void> {
  for (let i = 0; i < 2; i++) await check(`${m.name}: warm-up chain(${N}, 1)`, m.grid.submit(m.mod.chain, N, 1), expectedChain(N));
  if (m.name !== 'one') await check(`${m.name}: warm-up spread(${LEAVES}, 1)`, m.grid.submit(m.mod.spread, LEAVES, 1), expectedSpread(LEAVES));
  else await check(`${m.name}: warm-up flatChain(6, 1)`, m.grid.submit(m.mod.flatChain, 6, 1), expectedChain(6));
  m.linksAfterWarmUp = (await peerOf(m)).links;
}

async function timeRun(m: Mode, job: 'chain' | 'spread' | 'flat'): Promise<void> {
  const runs = m[job];
  const before = await m.coordinator.stats();
  const t0 = ms();
  const { leafMs } =
    job === 'spread'
      ? await check(`${m.name}: spread(${LEAVES}, ${UNITS})`, m.grid.submit(m.mod.spread, LEAVES, UNITS), expectedSpread(LEAVES))
      : job === 'chain'
        ? await check(`${m.name}: chain(${N}, ${UNITS})`, m.grid.submit(m.mod.chain, N, UNITS), expectedChain(N))
        : await check(`${m.name}: flatChain(${N}, ${UNITS})`, m.grid.submit(m.mod.flatChain, N, UNITS), expectedChain(N));
  runs.ms.push(ms() - t0);
  runs.leafMs.push(leafMs);
  const after = await m.coordinator.stats();
  runs.offloaded.push(after.peer.tasksOffloaded - before.peer.tasksOffloaded);
  runs.released.push(after.peer.tasksReleased - before.peer.tasksReleased);
  const was = doneByPage(before);
  runs.perPageDone.push(after.perWorker.map((w) => w.tasksDone - (was.get(w.id) ?? 0)));
}

export async function nested(): Promise<ScenarioResult> {
  const modes: Mode[] = [];
  try {
    // One after the other: browsers starting at once on 2 cores slow each other.
    for (const name of ['on', 'off', 'one'] as const) modes.push(await startMode(name));
    for (const m of modes) await warmUp(m);
    // Turns: on, off, one, on, off, one, ...
    for (let r = 0; r < RUNS; r++) {
      for (const m of modes) await timeRun(m, 'chain');
      if (r % 2 === 0) await timeRun(modes[2], 'flat');
    }
    for (let r = 0; r < SPREAD_RUNS; r++) for (const m of modes.slice(0, 2)) await timeRun(m, 'spread');
  } finally {
    for (const m of modes) await m.close();
  }
  const [on, off, one] = modes;

  const at = (runs: Runs) => median(runs.ms);
  // The ideal on 2 pages: the same tree on 1 page with 1 thread, halved.
  const idealMs = at(one.chain) / PAGES;
  // Where the time went: the share of the 2 threads' makespan spent in
  // leaves, and how much slower the leaves ran on 2 busy cores than on 1.
  const busy = (runs: Runs) => median(runs.leafMs.map((l, i) => l / (PAGES * runs.ms[i])));
  const moved = (runs: Runs) => median(runs.offloaded.map((o, i) => o + runs.released[i]));
  const s = (x: number) => x / 1000;
  const c = `nested chain(${N}) x ${UNITS}`;
  const f = `nested spread(${LEAVES}) x ${UNITS}`;
  const rows: Row[] = [
    rate(`${c}: makespan, offload on vs off`, 's', s(at(on.chain)), s(at(off.chain)), { target: '<= 1.0x', met: at(on.chain) <= at(off.chain) }),
    wall(`${c}: offload on vs ideal (1 page / 2)`, 's', s(at(on.chain)), s(idealMs)),
    wall(`${c}: offload off vs ideal (1 page / 2)`, 's', s(at(off.chain)), s(idealMs)),
    // What nesting costs on one page: the tree against the same leaves in one flat task.
    wall(`${c}: 1 page, 1 thread: tree vs one flat task`, 's', s(at(one.chain)), s(at(one.flat))),
    rate(`${c}: share of 2 threads spent in leaves, on vs off`, 'fraction', busy(on.chain), busy(off.chain)),
    rate(`${c}: leaves' own time, 2 pages vs 1 page`, 's', s(median([...on.chain.leafMs, ...off.chain.leafMs])), s(median(one.chain.leafMs))),
    { figure: `${c}: subtasks offloaded per run, on vs off`, unit: 'tasks', ladle: median(on.chain.offloaded), baseline: median(off.chain.offloaded) },
    { figure: `${c}: subtasks released per run, on vs off`, unit: 'tasks', ladle: median(on.chain.released), baseline: median(off.chain.released) },
    rate(`${f}: makespan, offload on vs off`, 's', s(at(on.spread)), s(at(off.spread)), { target: '<= 1.0x', met: at(on.spread) <= at(off.spread) }),
    // Each moved subtask is a leaf: how many of the 364 the second page ran (182 is even).
    rate(`${f}: leaves moved to the other page, on vs off`, 'tasks', moved(on.spread), moved(off.spread)),
  ];
  const detail = (m: Mode) => ({ chain: m.chain, spread: m.spread, linksAfterWarmUp: m.linksAfterWarmUp });
  return {
    rows,
    detail: {
      n: N,
      units: UNITS,
      runs: RUNS,
      spreadRuns: SPREAD_RUNS,
      pages: PAGES,
      threadsPerPage: 1,
      leaves: LEAVES,
      chainTasks: 2 + N + (N * (N + 1)) / 2 + LEAVES,
      idealMs,
      on: detail(on),
      off: detail(off),
      one: { chain: one.chain, flat: one.flat },
    },
  };
}
