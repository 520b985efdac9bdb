// Scenarios on one coordinator and one Chromium page with 2 Web Workers,
// side by side with Piscina with 2 threads running the same kernels. Both
// stay up for the whole scenario and take turns, so a load that comes and
// goes on the machine hits both alike; each figure is the best of REPS turns.
import type { Piscina } from 'piscina';
import { connect } from '../client-sdk/index.ts';
import type * as Kernels from './kernels.mjs';
import type { MonteCarloJob } from './kernels.mjs';
import { forkCoordinator, ms, percentile, piscinaMap, withGrid, withPool, type BenchGrid } from './harness.ts';
import { closePages, simPage, wsUrl } from './scale.ts';
import { rate, wall, type EfficiencyPoint, type Row, type ScenarioResult } from './table.ts';

const THREADS = 2;
const REPS = Number(process.env.BENCH_REPS ?? 2);

const withBoth = <T>(fn: (g: BenchGrid, pool: Piscina) => Promise<T>): Promise<T> => withGrid((g) => withPool((pool) => fn(g, pool), THREADS), THREADS);

async function timed<T>(fn: () => PromiseLike<T>): Promise<{ ms: number; out: T }> {
  const t0 = ms();
  const out = await fn();
  return { ms: ms() - t0, out };
}

function expectEqual(what: string, got: readonly unknown[], want: readonly unknown[]): void {
  if (got.length !== want.length) throw new Error(`${what}: ${got.length} results for ${want.length} inputs`);
  for (let i = 0; i < want.length; i++) {
    if (got[i] !== want[i]) throw new Error(`${what}: result ${i} is ${String(got[i])}, expected ${String(want[i])}`);
  }
}

// ---- 1. trivial-task map ----
export function trivial(): Promise<ScenarioResult> {
  const n = 50_000;
  const items = Array.from({ length: n }, (_, i) => i);
  // The warm-up loads the bundle, JIT-compiles both sides, and lets the page
  // and the scheduler learn that these tasks are tiny.
  const warm = items.slice(0, 5_000);
  return withBoth(async ({ grid, kernels }, pool) => {
    await grid.map(kernels.identity, warm);
    await piscinaMap(pool, 'identity', warm);
    await grid.map(kernels.identity, warm, { chunkSize: 1 });
    const ladleMs: number[] = [];
    const singleMs: number[] = [];
    const piscinaMs: number[] = [];
    for (let r = 0; r < REPS; r++) {
      const l = await timed(() => grid.map(kernels.identity, items));
      expectEqual('ladle identity map', l.out, items);
      ladleMs.push(l.ms);
      const p = await timed(() => piscinaMap<number, number>(pool, 'identity', items));
      expectEqual('piscina identity map', p.out, items);
      piscinaMs.push(p.ms);
      // One task per call, as with no chunking at all: the per-task path.
      const s = await timed(() => grid.map(kernels.identity, items, { chunkSize: 1 }));
      expectEqual('ladle identity map, chunkSize 1', s.out, items);
      singleMs.push(s.ms);
    }
    const ladle = n / (Math.min(...ladleMs) / 1000);
    const single = n / (Math.min(...singleMs) / 1000);
    const piscina = n / (Math.min(...piscinaMs) / 1000);
    return {
      rows: [
        rate('trivial map, 50k identity', 'tasks/s', ladle, piscina, { target: '>= 1.0x', met: ladle >= piscina }),
        rate('trivial map, one task per call (chunkSize 1)', 'tasks/s', single, piscina),
      ],
      detail: { items: n, ladleMs, singleMs, piscinaMs },
    };
  });
}

// ---- calibration: how many Monte Carlo points a millisecond buys ----
type Timed = { inside: number; ms: number };
const sumMs = (xs: readonly Timed[]) => xs.reduce((a, x) => a + x.ms, 0);
const fastest = (xs: readonly Timed[]) => Math.min(...xs.map((x) => x.ms));

/** Points per ms where the tasks run, timed by the workers themselves over
 * runs long enough that the browser's coarse clock does not matter; all
 * threads at once, as in the runs; the fastest run, as the machine unloaded. */
async function pointsPerMs(run: (jobs: MonteCarloJob[]) => PromiseLike<Timed[]>): Promise<number> {
  const probe = 1_000_000;
  const first = await run(Array.from({ length: 2 * THREADS }, (_, i) => ({ seed: i + 1, n: probe })));
  const n = Math.round((probe / fastest(first)) * 150);
  return n / fastest(await run(Array.from({ length: 3 * THREADS }, (_, i) => ({ seed: i + 1, n }))));
}

/** Thousands of tiny calls of the kernel on both sides. Chromium's V8 runs
 * a long task's loop in on-stack-replaced code ~50% slower until the function
 * itself is hot by call count; Node's does not. Real grids call a task
 * function many times, so the figures are for code past that point. */
async function warmKernel(g: BenchGrid, pool: Piscina): Promise<void> {
  const tiny = Array.from({ length: 2_000 }, (_, i) => ({ seed: i + 1, n: 1_000 }));
  await g.grid.map(g.kernels.timeMonteCarlo, tiny);
  await piscinaMap(pool, 'timeMonteCarlo', tiny);
}

/** One side after the other: calibrating both at once would halve each. */
async function calibrate(g: BenchGrid, pool: Piscina): Promise<[chromium: number, node: number]> {
  await warmKernel(g, pool);
  const chromium = await pointsPerMs((jobs) => g.grid.map(g.kernels.timeMonteCarlo, jobs));
  const node = await pointsPerMs((jobs) => piscinaMap<MonteCarloJob, Timed>(pool, 'timeMonteCarlo', jobs));
  return [chromium, node];
}

// ---- 2. CPU-bound map ----
export function cpu(): Promise<ScenarioResult> {
  const taskMs = 20;
  const count = 200;
  return withBoth(async (g, pool) => {
    const [chromeRate, nodeRate] = await calibrate(g, pool);
    // Sized by Node's speed, as the issue asks: the same work on both sides.
    const points = Math.round(nodeRate * taskMs);
    const jobs: MonteCarloJob[] = Array.from({ length: count }, (_, i) => ({ seed: 1000 + i, n: points }));
    const ladleMs: number[] = [];
    const piscinaMs: number[] = [];
    // Points per ms over each whole run, timed by the workers: the kernel's
    // speed under the very conditions the wall times saw.
    let chromeSpeed = 0;
    let nodeSpeed = 0;
    for (let r = 0; r < REPS; r++) {
      const l = await timed(() => g.grid.map(g.kernels.timeMonteCarlo, jobs));
      ladleMs.push(l.ms);
      chromeSpeed = Math.max(chromeSpeed, (count * points) / sumMs(l.out));
      const p = await timed(() => piscinaMap<MonteCarloJob, Timed>(pool, 'timeMonteCarlo', jobs));
      piscinaMs.push(p.ms);
      nodeSpeed = Math.max(nodeSpeed, (count * points) / sumMs(p.out));
      expectEqual('monte carlo: ladle vs piscina', l.out.map((x) => x.inside), p.out.map((x) => x.inside));
    }
    const ladle = Math.min(...ladleMs);
    const piscina = Math.min(...piscinaMs);
    const efficiency = piscina / ladle;
    const idealMs = (count * taskMs) / THREADS;
    return {
      rows: [
        wall('CPU map, 200 x 20 ms Monte Carlo', 'wall s', ladle / 1000, piscina / 1000, { target: '>= 0.95 eff', met: efficiency >= 0.95 }),
        // What no scheduler can win back: the same kernel's speed in a Chromium Web Worker and in a Node thread.
        rate('CPU map: kernel speed, Chromium vs Node', 'points/us', chromeSpeed / 1000, nodeSpeed / 1000),
      ],
      detail: {
        tasks: count,
        pointsPerTask: points,
        calibratedNodePointsPerMs: nodeRate,
        calibratedChromiumPointsPerMs: chromeRate,
        chromiumPointsPerMs: chromeSpeed,
        nodePointsPerMs: nodeSpeed,
        idealMs,
        ladleMs,
        piscinaMs,
        ladleVsIdeal: idealMs / ladle,
        piscinaVsIdeal: idealMs / piscina,
      },
    };
  });
}

// ---- 3. submit-to-result round trip ----
async function trips(once: (i: number) => PromiseLike<unknown>, into: number[] | undefined, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const t0 = ms();
    await once(i);
    into?.push(ms() - t0);
  }
}

/** The same round trip with a protocol-level page in Node instead of
 * Chromium: what the coordinator and the SDK cost without the browser. */
async function simulatedRoundTrips(count: number): Promise<number[]> {
  const c = await forkCoordinator();
  try {
    const page = await simPage(wsUrl(c));
    const grid = await connect({ url: c.url, token: c.token });
    try {
      const kernels = await grid.module<typeof Kernels>(new URL('./kernels.mjs', import.meta.url));
      const once = (i: number) => grid.submit(kernels.identity, i);
      const times: number[] = [];
      await trips(once, undefined, 200);
      await trips(once, times, count);
      return times.sort((a, b) => a - b);
    } finally {
      await grid.close();
      await closePages([page]);
    }
  } finally {
    await c.stop();
  }
}

export async function rtt(): Promise<ScenarioResult> {
  const count = 2_000;
  const chunk = 100;
  const { ladle, piscina, floor, relay } = await withBoth(async (g, pool) => {
    const { grid, kernels } = g;
    const ladleOnce = async (i: number) => {
      if ((await grid.submit(kernels.identity, i)) !== i) throw new Error('round trip: wrong result');
    };
    const piscinaOnce = (i: number) => pool.run(i, { name: 'identity' }) as Promise<number>;
    const ladle: number[] = [];
    const piscina: number[] = [];
    await trips(ladleOnce, undefined, 200);
    await trips(piscinaOnce, undefined, 200);
    // Alternating chunks: both sides sample the same moments of the machine.
    for (let done = 0; done < count; done += chunk) {
      await trips(ladleOnce, ladle, chunk);
      await trips(piscinaOnce, piscina, chunk);
    }
    const sorted = (xs: number[]) => xs.sort((a, b) => a - b);
    return { ladle: sorted(ladle), piscina: sorted(piscina), floor: sorted(await g.echoFloor()), relay: sorted(await g.relayFloor()) };
  });
  const simulated = await simulatedRoundTrips(count);
  const p50 = percentile(ladle, 50);
  const rows: Row[] = [
    rate('round trip p50', 'ms', p50, percentile(piscina, 50), { target: '<= 0.5 ms', met: p50 <= 0.5 }),
    rate('round trip p99', 'ms', percentile(ladle, 99), percentile(piscina, 99)),
    rate('round trip p50, simulated page (no browser)', 'ms', percentile(simulated, 50), percentile(piscina, 50)),
    // The floor: one page <-> Node WebSocket echo, which every round trip through a page contains.
    rate('round trip p50 vs a bare page <-> Node WebSocket echo', 'ms', p50, percentile(floor, 50), { target: '<= 2.0x', met: p50 <= 2 * percentile(floor, 50) }),
    // The two legs every grid round trip has (SDK -> coordinator -> page) with no work: the rest is Ladle's.
    rate('round trip p50 vs a Node -> relay process -> page echo', 'ms', p50, percentile(relay, 50)),
  ];
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return {
    rows,
    detail: {
      count,
      ladleMeanMs: mean(ladle),
      piscinaMeanMs: mean(piscina),
      simulatedMeanMs: mean(simulated),
      simulatedP99Ms: percentile(simulated, 99),
      echoFloorMsPerBatch: floor,
      relayFloorMsPerBatch: relay,
      ladleMaxMs: ladle[ladle.length - 1],
      piscinaMaxMs: piscina[piscina.length - 1],
    },
  };
}

// ---- 6. efficiency against task duration ----
export const DURATIONS_MS = [0.1, 0.3, 1, 3, 10, 30, 100];
/** Ideal milliseconds of each run: enough tasks to measure, few enough to stay quick. */
const POINT_IDEAL_MS = 1_000;

function tasksFor(taskMs: number): number {
  return Math.max(40, Math.round((POINT_IDEAL_MS * THREADS) / taskMs));
}

export function efficiency(): Promise<ScenarioResult> {
  return withBoth(async (g, pool) => {
    // Each side's tasks are sized by its own runtime's speed, so both run
    // about the nominal duration whatever the two V8s are worth.
    const [chromeRate, nodeRate] = await calibrate(g, pool);
    const ladleRun = (jobs: MonteCarloJob[]) => g.grid.map(g.kernels.timeMonteCarlo, jobs);
    const piscinaRun = (jobs: MonteCarloJob[]) => piscinaMap<MonteCarloJob, Timed>(pool, 'timeMonteCarlo', jobs);
    const points: (EfficiencyPoint & Record<string, number>)[] = [];
    // Shortest first, so a page's moving estimate of a task's duration only
    // has to catch up upward, as when one user's tasks grow.
    for (const taskMs of DURATIONS_MS) {
      const tasks = tasksFor(taskMs);
      const jobs = (rate: number) => Array.from({ length: tasks }, (_, i) => ({ seed: i + 1, n: Math.max(1, Math.round(rate * taskMs)) }));
      // The ideal is the work the workers measured they did, spread evenly: a
      // calibration taken moments earlier drifts when the machine is shared,
      // and the measured work does not.
      const efficiencyOf = (run: { ms: number; out: Timed[] }) => sumMs(run.out) / THREADS / run.ms;
      const nominal = (run: { ms: number }) => (tasks * taskMs) / THREADS / run.ms;
      let best = { ladle: 0, piscina: 0, ladleNominal: 0, piscinaNominal: 0, ladleTaskMs: 0, piscinaTaskMs: 0 };
      for (let r = 0; r < REPS; r++) {
        const l = await timed(() => ladleRun(jobs(chromeRate)));
        const p = await timed(() => piscinaRun(jobs(nodeRate)));
        if (efficiencyOf(l) > best.ladle) best = { ...best, ladle: efficiencyOf(l), ladleNominal: nominal(l), ladleTaskMs: sumMs(l.out) / tasks };
        if (efficiencyOf(p) > best.piscina) best = { ...best, piscina: efficiencyOf(p), piscinaNominal: nominal(p), piscinaTaskMs: sumMs(p.out) / tasks };
      }
      points.push({ ms: taskMs, tasks, ...best });
    }
    return {
      rows: points.map((p) => rate(`efficiency at ${p.ms} ms tasks (${p.tasks})`, 'ideal/actual', p.ladle, p.piscina)),
      efficiency: points,
      // *Nominal: the ideal from the calibrated duration instead of the
      // measured one; *TaskMs: the mean duration the workers measured.
      detail: { nodePointsPerMs: nodeRate, chromiumPointsPerMs: chromeRate, points },
    };
  });
}
