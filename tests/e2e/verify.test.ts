// Result verification against pages that lie (issue 15), in real Chromium:
// three honest pages and, test by test, a fresh lying page (a context opened
// with a user agent that tests/fixtures/verify.ts reads in its Web Workers).
// Without verification its wrong results arrive; with `verify: 2` or
// 'adaptive' none does and it ends quarantined; a page that earns trust and
// then lies is caught by spot checks; a quorum that cannot form, a bad
// `verify` and too few pages each say so.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCoordinator, type Coordinator } from '../../coordinator/coordinator.ts';
import { describePage, launchWorkers, type LocalWorkers, type PageSource } from '../../cli/workers.ts';
import { connect, LadleError, RemoteError, VerificationError, type Grid } from '../../client-sdk/index.ts';
import type { Stats, WorkerStats } from '../../coordinator/stats.ts';
import { fetchStats, runLadle, statsUntil } from '../helpers/cli.ts';
import { fixture, testBrowser } from '../helpers/grid.ts';
import type * as Verify from '../fixtures/verify.ts';

let dataDir: string;
let coordinator: Coordinator;
let grid: Grid;
let tasks: Awaited<ReturnType<typeof load>>;
const load = () => grid.module<typeof Verify>(fixture('verify.ts'));
let honest: LocalWorkers;

const HONEST = 'Mozilla/5.0 LadleHonest';
const LIAR = 'Mozilla/5.0 LadleLiar';
const LIAR_AFTER_100 = 'Mozilla/5.0 LadleLiarAfter100';

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'ladle-test-'));
  coordinator = await startCoordinator({ host: '127.0.0.1', port: 0, dataDir });
  honest = await launchWorkers({ url: coordinator.url, browser: await testBrowser(), pageSource: saying(HONEST), count: 3, threads: 1 });
  grid = await connect({ url: coordinator.url, token: coordinator.token });
  tasks = await load();
});

after(async () => {
  await grid?.close();
  await honest?.close();
  await coordinator?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const stats = (): Promise<Stats> => fetchStats({ url: coordinator.url, adminToken: coordinator.adminToken });
const source = () => ({ url: coordinator.url, adminToken: coordinator.adminToken });

/** Pages whose user agent, as they, their Web Workers and the coordinator
 * see it, is `agent`: each in a context of its own in the shared browser. */
function saying(agent: string): PageSource {
  return {
    take: async () => (await (await testBrowser()).newContext({ userAgent: agent })).newPage(),
    give: (page) => page.context().close().catch(() => undefined),
  };
}

/** A page of its own context saying `agent` (a fresh identity, untrusted and
 * not quarantined), and the coordinator's id for it. */
async function openPage(agent: string): Promise<{ page: LocalWorkers; id: string }> {
  const page = await launchWorkers({ url: coordinator.url, browser: await testBrowser(), pageSource: saying(agent), count: 1, threads: 1 });
  return { page, id: (await describePage(page.pages[0])).workerId };
}

/** The joined page `id`, which must have user agent `agent`. */
function pageBy(s: Stats, id: string, agent: string): WorkerStats {
  const found = s.perWorker.find((w) => w.id === id);
  assert.ok(found, `page ${id} is joined: ${JSON.stringify(s.perWorker.map((w) => w.id))}`);
  assert.equal(found.userAgent, agent);
  return found;
}

const xs = Array.from({ length: 400 }, (_, i) => i);
const wrongOf = (ys: number[]) => xs.filter((x, i) => ys[i] !== x * x);

test("a lying page's Web Workers see the user agent its context was opened with", { timeout: 60_000 }, async () => {
  const liar = await openPage(LIAR);
  try {
    const seen = await liar.page.pages[0].evaluate(() => new Promise<string>((resolve) => {
      const w = new Worker(URL.createObjectURL(new Blob(['postMessage(navigator.userAgent)'], { type: 'text/javascript' })));
      w.onmessage = (e: MessageEvent<string>) => resolve(e.data);
    }));
    assert.equal(seen, LIAR);
  } finally {
    await liar.page.close();
  }
});

test('without verification, the lying page gets work and its wrong results arrive', { timeout: 120_000 }, async () => {
  const liar = await openPage(LIAR);
  try {
    const before = pageBy(await stats(), liar.id, LIAR).tasksDone;
    const wrong = wrongOf(await grid.map(tasks.square, xs, { chunkSize: 1 }));
    const ran = pageBy(await stats(), liar.id, LIAR).tasksDone - before;
    assert.ok(ran > 0, 'the liar ran tasks');
    assert.equal(wrong.length, ran, 'every task the liar ran came back wrong, and only those');
  } finally {
    await liar.page.close();
  }
});

for (const verify of [2, 'adaptive'] as const) {
  test(`verify: ${JSON.stringify(verify)}: not one wrong result in 400 tasks, and the liar ends quarantined`, { timeout: 180_000 }, async () => {
    const liar = await openPage(LIAR);
    try {
      const s0 = await stats();
      const wrong = wrongOf(await grid.map(tasks.square.with({ verify }), xs, { chunkSize: 1 }));
      assert.deepEqual(wrong, [], 'no wrong result arrived');
      const s = await stats();
      const page = pageBy(s, liar.id, LIAR);
      assert.ok(page.trust.quarantined, `the liar is quarantined: ${JSON.stringify(page.trust)}`);
      for (const w of s.perWorker.filter((p) => p.userAgent === HONEST)) assert.ok(!w.trust.quarantined, `honest page ${w.identity} is not quarantined`);
      assert.equal(s.verify.tasks - s0.verify.tasks, 400, 'each task was decided once');
      assert.ok(s.verify.disagreements > s0.verify.disagreements, JSON.stringify(s.verify));
      assert.ok(s.verify.quarantined > s0.verify.quarantined, JSON.stringify(s.verify));
      assert.equal(s.verify.failed, s0.verify.failed, 'every quorum formed');
      assert.equal(s.verify.extra, s.verify.runs - s.verify.tasks);
    } finally {
      await liar.page.close();
    }
  });
}

test('a page honest for its first 100 tasks, then lying, is caught by spot checks', { timeout: 300_000 }, async () => {
  // threads=1: one Web Worker, whose count is the page's.
  const turncoat = await openPage(LIAR_AFTER_100);
  try {
    const batch = Array.from({ length: 40 }, (_, i) => i);
    let trustedBeforeCaught = false;
    let wrongDelivered = 0;
    for (;;) {
      const ys = await grid.map(tasks.square.with({ verify: 'adaptive' }), batch, { chunkSize: 1 });
      wrongDelivered += batch.filter((x, i) => ys[i] !== x * x).length;
      const page = pageBy(await stats(), turncoat.id, LIAR_AFTER_100);
      if (page.trust.quarantined) break;
      if (page.trust.trusted) trustedBeforeCaught = true;
      // Past 100 tasks every result is wrong and a trusted page's is checked
      // with probability at least 5%: after 1,000 lies it escapes with
      // probability 0.95^1000, about 5e-23.
      assert.ok(page.tasksDone < 1_100, `still not quarantined after ${page.tasksDone} tasks: ${JSON.stringify(page.trust)}`);
    }
    assert.ok(trustedBeforeCaught, 'it had earned trust while honest (so a spot check, not the untrusted rule, caught it)');
    // Reported, not asserted: what a trusted cheater gets through before a spot check.
    console.log(`# wrong results delivered before the turncoat was caught: ${wrongDelivered}`);
  } finally {
    await turncoat.page.close();
  }
});

test('a quorum that cannot form (a task returning Math.random()) fails with VerificationError', { timeout: 60_000 }, async () => {
  await assert.rejects(async () => grid.submit(tasks.random.with({ verify: 2 })), (e: unknown) => {
    assert.ok(e instanceof VerificationError, String(e));
    assert.equal(e.code, 'ERR_VERIFICATION');
    assert.ok(e.runs >= 2, `runs: ${e.runs}`);
    assert.equal(e.distinct, e.runs, 'every result was different');
    assert.match(e.message, new RegExp(`\\b${e.distinct}\\b`), 'the message names how many distinct results there were');
    return true;
  });
  assert.ok((await stats()).verify.failed >= 1);
});

test('replicas that throw the same error agree: the task fails with its own error, not a VerificationError', { timeout: 60_000 }, async () => {
  await assert.rejects(async () => grid.submit(tasks.fail.with({ verify: 2 }), 'no good'), (e: unknown) => e instanceof RemoteError && e.remoteName === 'RangeError' && e.remoteMessage === 'no good');
});

test('bad verify values are clear errors, from the SDK, startCoordinator and the CLI', { timeout: 60_000 }, async () => {
  for (const verify of [0, 1, -3, 1000, 2.5, Number.NaN, 'x', 'Adaptive', null, {}] as unknown[]) {
    assert.throws(
      () => tasks.square.with({ verify: verify as 2 }),
      (e: unknown) => e instanceof LadleError && e.code === 'ERR_INVALID_OPTION' && /verify/.test(e.message),
      `verify: ${String(verify)}`,
    );
  }
  for (const verify of [1, 'x']) {
    await assert.rejects(startCoordinator({ host: '127.0.0.1', port: 0, dataDir, verify: verify as 2 }), /verify/);
  }
  const cli = runLadle(['coordinator', '--host', '127.0.0.1', '--port', '0', '--verify', '1']);
  assert.equal(await cli.exited, 2, cli.output());
  assert.match(cli.output(), /verify/);
});

test('verify: n whose majority is beyond the pages joined waits with a word (stats and one SDK warning), then runs once enough pages join', { timeout: 120_000 }, async () => {
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => void warnings.push(args.join(' '));
  let more: LocalWorkers | undefined;
  try {
    // Six replicas, four of which must agree: three pages cannot decide it.
    const y = grid.submit(tasks.square.with({ verify: 6 }), 7);
    await statsUntil(source(), (s) => s.verify.waiting === 1, 60_000);
    await waitUntil(() => warnings.length > 0, 'the SDK warns', 60_000);
    assert.match(warnings[0], /verif/i);
    assert.match(warnings[0], /\b4\b/, 'the warning names the distinct pages a majority of 6 needs');
    assert.match(warnings[0], /\b3\b/, 'and the pages joined');
    assert.equal(y.done(), false);
    // A fourth page: four agreeing results are a majority of six.
    more = (await openPage(HONEST)).page;
    assert.equal(await y, 49);
    assert.equal((await stats()).verify.waiting, 0);
    assert.equal(warnings.length, 1, 'warned once');
  } finally {
    console.warn = warn;
    await more?.close();
  }
});

/** Polls `check` until it holds; fails after `ms`. */
async function waitUntil(check: () => boolean, what: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) assert.fail(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
