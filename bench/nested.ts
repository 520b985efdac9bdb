// Nested work with WebRTC peer offloading on and off, in the same run: two
// grids (each a coordinator process and one browser with 2 pages of 1 Web
// Worker), one with `peerOffload: false`. One root task, SCOOP's chain, lands
// on one page and spawns the whole tree there; the other page gets a share
// only by stealing it over WebRTC (on) or from the grid queue after the
// coordinator has the busy page release subtasks to it (off). A third grid
// with a single page times the same tree on one thread: the reference.
// All three are up together and take turns, so a load on the machine hits
// them alike.
import { connect, type Grid, type ModuleHandles } from '../client-sdk/index.ts';
import type { PeerStats, Stats } from '../coordinator/hub.ts';
import type * as Nested from './nested-kernels.ts';
import { forkBrowser, forkCoordinator, ms, onCleanup, until, type CoordinatorProcess } from './harness.ts';
import { rate, wall, type Row, type ScenarioResult } from './table.ts';

/** chain(N): 364 leaves and 456 tasks in all for N = 12. */
const N = 12;
/** Each leaf burns UNITS x 100,000 square roots (about 1.6 ms a unit on Node). */
const UNITS = Number(process.env.BENCH_NESTED_UNITS ?? 3);
/** Timed runs per mode (the median is kept). */
const RUNS = Number(process.env.BENCH_NESTED_RUNS ?? 5);
const PAGES = 2;

/** The answer chain(n) must give: the sum over m <= n, k <= m, x <= k of x². */
export function expectedChain(n: number): number {
  let total = 0;
  for (let m = 1; m <= n; m++) for (let k = 1; k <= m; k++) for (let x = 1; x <= k; x++) total += x * x;
  return total;
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

interface Mode {
  /** on, off: 2 pages with peer offloading on, off; one: 1 page (the reference). */
  name: 'on' | 'off' | 'one';
  coordinator: CoordinatorProcess;
  grid: Grid;
  mod: ModuleHandles<typeof Nested>;
  /** Makespans of the timed chain runs, ms. */
  chainMs: number[];
  /** Of the one-task flat runs, ms. */
  flatMs: number[];
  /** Peer counters' change over each timed run. */
  offloaded: number[];
  released: number[];
  /** Tasks the coordinator saw each page finish over each timed run (the root and released subtasks). */
  perPageDone: number[][];
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
    chainMs: [],
    flatMs: [],
    offloaded: [],
    released: [],
    perPageDone: [],
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

async function check(what: string, got: PromiseLike<number>, want: number): Promise<void> {
  const value = await got;
  if (value !== want) throw new Error(`${what}: got ${value}, expected ${want}`);
}

/** Bundles cached on the pages, links opened (on), and leaf() hot on both
 * pages' V8 by call count (see the README on on-stack replacement). */
async function warmUp(m: Mode): Promise<void> {
  for (let i = 0; i < 2; i++) await check(`${m.name}: warm-up chain(${N}, 1)`, m.grid.submit(m.mod.chain, N, 1), expectedChain(N));
  await check(`${m.name}: warm-up flatChain(6, 1)`, m.grid.submit(m.mod.flatChain, 6, 1), expectedChain(6));
  m.linksAfterWarmUp = (await peerOf(m)).links;
}

async function timeChain(m: Mode): Promise<void> {
  const before = await m.coordinator.stats();
  const t0 = ms();
  await check(`${m.name}: chain(${N}, ${UNITS})`, m.grid.submit(m.mod.chain, N, UNITS), expectedChain(N));
  m.chainMs.push(ms() - t0);
  const after = await m.coordinator.stats();
  m.offloaded.push(after.peer.tasksOffloaded - before.peer.tasksOffloaded);
  m.released.push(after.peer.tasksReleased - before.peer.tasksReleased);
  const was = doneByPage(before);
  m.perPageDone.push(after.perWorker.map((w) => w.tasksDone - (was.get(w.id) ?? 0)));
}

async function timeFlat(m: Mode): Promise<void> {
  const t0 = ms();
  await check(`${m.name}: flatChain(${N}, ${UNITS})`, m.grid.submit(m.mod.flatChain, N, UNITS), expectedChain(N));
  m.flatMs.push(ms() - t0);
}

export async function nested(): Promise<ScenarioResult> {
  const modes: Mode[] = [];
  try {
    // One after the other: browsers starting at once on 2 cores slow each other.
    for (const name of ['on', 'off', 'one'] as const) modes.push(await startMode(name));
    for (const m of modes) await warmUp(m);
    // Turns: on, off, one, on, off, one, ... and the flat reference every other turn.
    for (let r = 0; r < RUNS; r++) {
      for (const m of modes) await timeChain(m);
      if (r % 2 === 0) await timeFlat(modes[2]);
    }
  } finally {
    for (const m of modes) await m.close();
  }
  const [on, off, one] = modes;

  const onMs = median(on.chainMs);
  const offMs = median(off.chainMs);
  // The ideal on 2 pages: the same tree on 1 page with 1 thread, halved.
  const oneMs = median(one.chainMs);
  const idealMs = oneMs / PAGES;
  const flatMs = median(one.flatMs);
  const fig = `nested chain(${N}) x ${UNITS}`;
  const rows: Row[] = [
    rate(`${fig}: makespan, offload on vs off`, 's', onMs / 1000, offMs / 1000, { target: '<= 1.0x', met: onMs <= offMs }),
    wall(`${fig}: offload on vs ideal (1 page / 2)`, 's', onMs / 1000, idealMs / 1000),
    wall(`${fig}: offload off vs ideal (1 page / 2)`, 's', offMs / 1000, idealMs / 1000),
    // What nesting costs on one page: the tree against the same leaves in one flat task.
    wall(`${fig}: 1 page, 1 thread: tree vs one flat task`, 's', oneMs / 1000, flatMs / 1000),
    { figure: `${fig}: subtasks offloaded per run, on vs off`, unit: 'tasks', ladle: median(on.offloaded), baseline: median(off.offloaded) },
    { figure: `${fig}: subtasks released per run, on vs off`, unit: 'tasks', ladle: median(on.released), baseline: median(off.released) },
  ];
  const detail = (m: Mode) => ({
    chainMs: m.chainMs,
    flatMs: m.flatMs,
    offloaded: m.offloaded,
    released: m.released,
    perPageDone: m.perPageDone,
    linksAfterWarmUp: m.linksAfterWarmUp,
  });
  return {
    rows,
    detail: { n: N, units: UNITS, runs: RUNS, pages: PAGES, threadsPerPage: 1, leaves: (N * (N + 1) * (N + 2)) / 6, tasks: 2 + N + (N * (N + 1)) / 2 + (N * (N + 1) * (N + 2)) / 6, idealMs, on: detail(on), off: detail(off), one: detail(one) },
  };
}
