// Result verification (issue 15): what checking results costs, and what it
// catches. Its "baseline" column is the same grid without verification.
//
// 1. Cost: one coordinator process, one browser process with 4 pages of 1 Web
//    Worker. After a warm-up that makes V8 hot on every page and earns every
//    page a record (adaptive checks a trusted page with probability
//    max(5%, 1/(agreed - 3))), timed turns of 400 tasks of ~7 ms each with
//    verification off, 'adaptive' and `verify: 2`, in rotation; medians.
//    Extra executions = stats.verify.extra / stats.verify.tasks over the turns.
//    Every result is checked against the off turn's: honest pages must agree.
// 2. Catch: a fresh coordinator with 3 honest pages and a liar (a browser
//    launched with a user agent that tests/fixtures/verify.ts reads: every
//    result it gives is wrong). 400 tasks with 'adaptive', then a fresh liar
//    and 400 with `verify: 2`: wrong results delivered (target 0) and tasks
//    decided, and tasks the liar ran, until it was quarantined (the honest
//    pages have a record by then). Then a turncoat (honest for its
//    first 100 tasks, then lying) under 'adaptive': caught by spot checks
//    only, so some wrong results get through first; how many, and how many
//    tasks it ran before it was caught.
import { connect, type Grid, type ModuleHandles } from '../client-sdk/index.ts';
import type { Stats } from '../coordinator/stats.ts';
import * as Verify from '../tests/fixtures/verify.ts';
import { forkBrowser, forkCoordinator, ms, onCleanup, percentile, type CoordinatorProcess } from './harness.ts';
import { rate, type Row, type ScenarioResult } from './table.ts';

const PAGES = 4;
/** Tasks per timed turn, and each task's work: UNITS x 10,000 generator steps (~7 ms at 100). */
const TASKS = 400;
const UNITS = Number(process.env.BENCH_VERIFY_UNITS ?? 100);
const TURNS = Number(process.env.BENCH_VERIFY_TURNS ?? 5);
/** The record (agreed checks) past which a trusted page is checked at the 5% floor. */
const STEADY_AGREED = 23;
const LIAR = 'Mozilla/5.0 LadleLiar';
const TURNCOAT = 'Mozilla/5.0 LadleLiarAfter100';

const median = (xs: readonly number[]) => percentile([...xs].sort((a, b) => a - b), 50);
const seeds = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);

interface Grid1 {
  coordinator: CoordinatorProcess;
  grid: Grid;
  mod: ModuleHandles<typeof Verify>;
  close(): Promise<void>;
}

/** A coordinator process, `honest` honest pages of 1 Web Worker, an SDK client. */
async function startGrid(honest: number): Promise<Grid1> {
  const coordinator = await forkCoordinator();
  const browser = await forkBrowser(coordinator, honest, 1, ['--user-agent=Mozilla/5.0 LadleHonest']);
  const grid = await connect({ url: coordinator.url, token: coordinator.token });
  const unregister = onCleanup(() => grid.close());
  const mod = await grid.module<typeof Verify>(new URL('../tests/fixtures/verify.ts', import.meta.url));
  return {
    coordinator,
    grid,
    mod,
    async close() {
      unregister();
      await grid.close();
      await browser.stop();
      await coordinator.stop();
    },
  };
}

type Mode = 'off' | 'adaptive' | 2;
interface Turns {
  ms: number[];
  tasks: number;
  runs: number;
  extra: number;
}

/** Cost: 4 honest pages, off vs adaptive vs 2. */
async function cost(): Promise<{ rows: Row[]; detail: Record<string, unknown> }> {
  const g = await startGrid(PAGES);
  try {
    const { grid, mod, coordinator } = g;
    // V8 hot by call count on every page (automatic chunks: many calls per task).
    await grid.map(mod.work, seeds(8_000), seeds(8_000).map(() => 1));
    // Records: adaptive turns of small tasks until every page is checked at the floor.
    let warmUpTasks = 0;
    for (let i = 0; i < 30; i++) {
      await grid.map(mod.work.with({ verify: 'adaptive' }), seeds(200, i * 200), seeds(200).map(() => 1), { chunkSize: 1 });
      warmUpTasks += 200;
      const s = await coordinator.stats();
      if (s.perWorker.every((w) => w.trust.trusted && w.trust.agreed >= STEADY_AGREED)) break;
    }
    const trustAfterWarmUp = (await coordinator.stats()).perWorker.map((w) => w.trust);
    const xs = seeds(TASKS, 1_000_000);
    const units = xs.map(() => UNITS);
    const truth = await grid.map(mod.work, xs, units, { chunkSize: 1 });
    const turns = new Map<Mode, Turns>((['off', 'adaptive', 2] as const).map((m) => [m, { ms: [], tasks: 0, runs: 0, extra: 0 }]));
    for (let t = 0; t < TURNS; t++) {
      for (const [mode, turn] of turns) {
        const before = (await coordinator.stats()).verify;
        const t0 = ms();
        const ys = await grid.map(mod.work.with({ verify: mode }), xs, units, { chunkSize: 1 });
        turn.ms.push(ms() - t0);
        const after = (await coordinator.stats()).verify;
        turn.tasks += after.tasks - before.tasks;
        turn.runs += after.runs - before.runs;
        turn.extra += after.extra - before.extra;
        const wrong = ys.filter((y, i) => y !== truth[i]).length;
        if (wrong > 0) throw new Error(`verify ${mode}: ${wrong} wrong results from honest pages`);
      }
    }
    const off = turns.get('off')!;
    const adaptive = turns.get('adaptive')!;
    const two = turns.get(2)!;
    const s = (x: number) => x / 1000;
    const share = (t: Turns) => (t.tasks > 0 ? t.extra / t.tasks : 0);
    const what = `${TASKS} x ~${Math.round(UNITS * 0.07)} ms tasks, ${PAGES} pages`;
    const adaptiveRatio = median(adaptive.ms) / median(off.ms);
    const rows: Row[] = [
      rate(`verify adaptive vs off: makespan (${what})`, 's', s(median(adaptive.ms)), s(median(off.ms)), { target: '<= 1.15x', met: adaptiveRatio <= 1.15 }),
      rate(`verify 2 vs off: makespan (${what})`, 's', s(median(two.ms)), s(median(off.ms)), { target: '~2x (reference)' }),
      { figure: 'verify adaptive: extra executions / tasks, steady state', unit: 'fraction', ladle: share(adaptive), target: '<= 0.10', met: share(adaptive) <= 0.1 },
      { figure: 'verify 2: extra executions / tasks', unit: 'fraction', ladle: share(two), target: '~1 (reference)' },
    ];
    return { rows, detail: { pages: PAGES, tasks: TASKS, units: UNITS, turns: TURNS, warmUpTasks, trustAfterWarmUp, off, adaptive, two } };
  } finally {
    await g.close();
  }
}

const pageBy = (s: Stats, agent: string) => s.perWorker.find((w) => w.userAgent === agent);

/** One liar among 4 pages: 400 tasks under `mode`, the liar fresh. */
async function catchLiar(g: Grid1, mode: 'adaptive' | 2): Promise<{ wrong: number; decidedUntilQuarantined?: number; ranUntilQuarantined?: number; liarRan: number }> {
  const liar = await forkBrowser(g.coordinator, 1, 1, [`--user-agent=${LIAR}`]);
  try {
    const xs = seeds(TASKS, 2_000_000);
    const units = xs.map(() => 10);
    const start = (await g.coordinator.stats()).verify.tasks;
    let seen: { decided: number; ran: number } | undefined;
    let done = false;
    // Watches the stats while the map runs: verified tasks decided, and tasks
    // the liar ran, by the time it shows quarantined.
    const watch = (async () => {
      while (!done && seen === undefined) {
        const s = await g.coordinator.stats();
        const page = pageBy(s, LIAR);
        if (page?.trust.quarantined) seen = { decided: s.verify.tasks - start, ran: page.tasksDone };
        else await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const ys = await g.grid.map(g.mod.work.with({ verify: mode }), xs, units, { chunkSize: 1 });
    done = true;
    await watch;
    const wrong = ys.filter((y, i) => y !== Verify.work(xs[i], 10)).length;
    const liarRan = pageBy(await g.coordinator.stats(), LIAR)?.tasksDone ?? 0;
    return { wrong, decidedUntilQuarantined: seen?.decided, ranUntilQuarantined: seen?.ran, liarRan };
  } finally {
    await liar.stop();
  }
}

/** A page trusted by its first 100 tasks, then lying: adaptive spot checks catch it. */
async function catchTurncoat(g: Grid1): Promise<{ wrong: number; ranBeforeCaught: number; caught: boolean }> {
  const turncoat = await forkBrowser(g.coordinator, 1, 1, [`--user-agent=${TURNCOAT}`]);
  try {
    let wrong = 0;
    for (let batch = 0; ; batch++) {
      const xs = seeds(100, 3_000_000 + batch * 100);
      const ys = await g.grid.map(g.mod.work.with({ verify: 'adaptive' }), xs, xs.map(() => 10), { chunkSize: 1 });
      wrong += ys.filter((y, i) => y !== Verify.work(xs[i], 10)).length;
      const page = pageBy(await g.coordinator.stats(), TURNCOAT);
      if (!page) throw new Error('the turncoat page is gone');
      if (page.trust.quarantined || page.tasksDone > 3_000) return { wrong, ranBeforeCaught: page.tasksDone, caught: page.trust.quarantined };
    }
  } finally {
    await turncoat.stop();
  }
}

async function catching(): Promise<{ rows: Row[]; detail: Record<string, unknown> }> {
  const g = await startGrid(PAGES - 1);
  try {
    // Bundle cached and V8 warm on the honest pages, and a record earned: a
    // liar joins a grid whose pages are trusted.
    await g.grid.map(g.mod.work, seeds(4_000), seeds(4_000).map(() => 1));
    await g.grid.map(g.mod.work.with({ verify: 'adaptive' }), seeds(200), seeds(200).map(() => 1), { chunkSize: 1 });
    const adaptive = await catchLiar(g, 'adaptive');
    const two = await catchLiar(g, 2);
    const turncoat = await catchTurncoat(g);
    const rows: Row[] = [
      { figure: `liar (1 of ${PAGES} pages), adaptive: wrong results delivered in ${TASKS} tasks`, unit: 'results', ladle: adaptive.wrong, target: '0', met: adaptive.wrong === 0 },
      { figure: 'liar, adaptive: verified tasks decided until it was quarantined', unit: 'tasks', ladle: adaptive.decidedUntilQuarantined ?? Number.NaN, target: 'report' },
      { figure: 'liar, adaptive: tasks the liar ran until it was quarantined', unit: 'tasks', ladle: adaptive.ranUntilQuarantined ?? Number.NaN, target: 'report' },
      { figure: `liar, verify 2: wrong results delivered in ${TASKS} tasks`, unit: 'results', ladle: two.wrong, target: '0', met: two.wrong === 0 },
      { figure: 'liar, verify 2: verified tasks decided until it was quarantined', unit: 'tasks', ladle: two.decidedUntilQuarantined ?? Number.NaN, target: 'report' },
      { figure: 'liar, verify 2: tasks the liar ran until it was quarantined', unit: 'tasks', ladle: two.ranUntilQuarantined ?? Number.NaN, target: 'report' },
      { figure: 'turncoat (honest for 100 tasks), adaptive: wrong results delivered before quarantine', unit: 'results', ladle: turncoat.wrong, target: 'report' },
      { figure: 'turncoat, adaptive: tasks it ran before quarantine (100 honest)', unit: 'tasks', ladle: turncoat.ranBeforeCaught, target: 'caught', met: turncoat.caught },
    ];
    return { rows, detail: { adaptive, two, turncoat } };
  } finally {
    await g.close();
  }
}

export async function verify(): Promise<ScenarioResult> {
  const a = await cost();
  const b = await catching();
  return { rows: [...a.rows, ...b.rows], detail: { cost: a.detail, catching: b.detail } };
}
