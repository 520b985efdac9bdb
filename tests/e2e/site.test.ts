// The volunteer site and the dashboard in real Chromium: joining and leaving,
// the task count, pause and resume, the thread slider, the live dashboard,
// WebRTC peer offloading as both pages show it, and screenshots at desktop
// and phone sizes (written to test-results/).
// Every page opened here must log no console error and throw nothing.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startCoordinator, type Coordinator } from '../../coordinator/coordinator.ts';
import type { Stats, WorkerStats } from '../../coordinator/stats.ts';
import { connect, type Grid } from '../../client-sdk/index.ts';
import { fixture, testBrowser } from '../helpers/grid.ts';
import type * as Tasks from '../fixtures/tasks.ts';
import type * as Offload from '../fixtures/offload.ts';
import { expectedChain } from '../fixtures/offload.ts';
import type { RuntimeStatus } from '../../browser-worker/runtime.ts';
import { formatBytes, formatNumber } from '../../site/chart.ts';

const ARTIFACTS = fileURLToPath(new URL('../../test-results/', import.meta.url));
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

let dataDir: string;
let c: Coordinator;
let browser: Browser;
let grid: Grid;
let tasks: Awaited<ReturnType<typeof grid.module<typeof Tasks>>>;

/** Every page opened by a test, with the errors it logged. */
const opened: { context: BrowserContext; page: Page; errors: string[] }[] = [];

before(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  dataDir = await mkdtemp(join(tmpdir(), 'ladle-site-'));
  c = await startCoordinator({ host: '127.0.0.1', port: 0, dataDir });
  browser = await testBrowser();
  grid = await connect({ url: c.url, token: c.token });
  tasks = await grid.module<typeof Tasks>(fixture('tasks.ts'));
});

afterEach(async () => {
  // No page of the test logged an error; then they all close, and leave the grid.
  const errors = opened.flatMap((o) => o.errors);
  for (const o of opened.splice(0)) await o.context.close();
  await statsUntil((s) => s.workers === 0);
  assert.deepEqual(errors, [], 'the pages logged no console errors');
});

after(async () => {
  await grid?.close();
  await c?.close();
  await rm(dataDir, { recursive: true, force: true });
});

interface OpenOptions {
  viewport?: { width: number; height: number };
  /** A machine with this many cores, as far as the page can tell. */
  cores?: number;
  /** Scripts run before the page's own (strings: tsx would wrap a function's inner arrows in a helper the page lacks). */
  init?: string[];
}

async function open(path: string, options: OpenOptions = {}): Promise<Page> {
  const context = await browser.newContext({ viewport: options.viewport ?? DESKTOP });
  const init = [...(options.init ?? [])];
  if (options.cores !== undefined) init.push(`Object.defineProperty(Navigator.prototype, 'hardwareConcurrency', { get: () => ${options.cores} });`);
  for (const content of init) await context.addInitScript({ content });
  const page = await context.newPage();
  const entry = { context, page, errors: [] as string[] };
  page.on('console', (m) => {
    if (m.type() === 'error') entry.errors.push(`${path}: console.error: ${m.text()}`);
  });
  page.on('pageerror', (e) => entry.errors.push(`${path}: uncaught: ${e.message}`));
  opened.push(entry);
  await page.goto(new URL(path, c.url).href);
  return page;
}

async function volunteer(path = '/?threads=2', options: OpenOptions = {}): Promise<Page> {
  const page = await open(path, options);
  await page.waitForFunction(() => (globalThis as { ladle?: { status: RuntimeStatus } }).ladle?.status.state === 'connected');
  return page;
}

const status = (page: Page) => page.evaluate(() => ({ ...(globalThis as unknown as { ladle: { status: RuntimeStatus } }).ladle.status }));
const text = (page: Page, selector: string) => page.locator(selector).innerText();
/** The page's task-running Web Workers, as Chromium counts them (the clock worker is not one). */
// The page starts its Web Workers from a blob: URL of /worker.js (fetched once); its clock worker is /clock.js.
const webWorkers = (page: Page) => page.workers().filter((w) => w.url().startsWith('blob:')).length;

/** The stats with each worker and job: the admin token sees them. */
async function stats(): Promise<Stats> {
  return (await (await fetch(`${c.url}/api/stats`, { headers: { authorization: `Bearer ${c.adminToken}` } })).json()) as Stats;
}

async function statsUntil(predicate: (s: Stats) => boolean, timeoutMs = 15_000): Promise<Stats> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await stats();
    if (predicate(s)) return s;
    if (Date.now() > deadline) throw new Error(`stats never matched within ${timeoutMs} ms: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function until<T>(what: string, probe: () => T | Promise<T>, ok: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(v)} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The dashboard's peer offloading tiles, as shown. */
const shownPeer = (dash: Page) =>
  dash.evaluate(() =>
    Object.fromEntries(['p-pages', 'p-links', 'p-offloaded', 'p-on-peers', 'p-bytes', 'p-released', 'p-copied', 'p-refused'].map((id) => [id, document.getElementById(id)!.textContent])),
  );

/** Waits until the dashboard's peer tiles show what /api/stats says (the
 * dashboard is up to a second behind), and returns those stats. */
async function dashboardShowsPeer(dash: Page): Promise<Stats> {
  let s!: Stats;
  await until(
    'the peer tiles show the /api/stats figures',
    async () => {
      s = await stats();
      const expected = {
        'p-pages': formatNumber(s.peer.pages),
        'p-links': formatNumber(s.peer.links),
        'p-offloaded': formatNumber(s.peer.tasksOffloaded),
        'p-on-peers': formatNumber(s.peer.tasksOnPeers),
        'p-bytes': formatBytes(s.peer.bytesSent),
        'p-released': formatNumber(s.peer.tasksReleased),
        'p-copied': formatNumber(s.peer.tasksCopied),
        'p-refused': formatNumber(s.peer.stealsRefused),
      };
      return { expected, shown: await shownPeer(dash) };
    },
    ({ expected, shown }) => JSON.stringify(expected) === JSON.stringify(shown),
  );
  return s;
}

/** A worker row's WebRTC and held-for-peers cells. */
const peerCells = (dash: Page, workerId: string) =>
  Promise.all(
    ['WebRTC', 'Held for peers'].map((label) => dash.locator(`#workers tr[data-worker="${workerId}"] td[data-label="${label}"]`).innerText()),
  );

async function workerOf(page: Page): Promise<WorkerStats> {
  const { workerId } = await status(page);
  const w = (await stats()).perWorker.find((p) => p.id === workerId);
  assert.ok(w, `worker ${workerId} is in /api/stats`);
  return w;
}

test('opening / adds a worker to /api/stats within 10 s; closing the tab removes it', { timeout: 60_000 }, async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${c.url}/`);
  const s = await statsUntil((s) => s.workers === 1, 10_000);
  assert.equal(s.perWorker.length, 1);
  assert.match(s.perWorker[0].userAgent, /Chrome/);
  await context.close();
  await statsUntil((s) => s.workers === 0, 10_000);
});

test('after a job the join page shows the tasks this tab completed, and the grid totals', { timeout: 60_000 }, async () => {
  const page = await volunteer('/?threads=2');
  assert.equal(await text(page, '#done'), '0');
  assert.equal(await text(page, '#threads-value'), '2');
  // The coordinator hosts a PeerServer: the tab registers for WebRTC; alone in the grid it has no peer.
  await page.waitForFunction(() => document.getElementById('peer')?.dataset.state === 'open');
  assert.equal((await status(page)).peer.state, 'open');
  assert.equal(await text(page, '#peer'), 'Ready to share work directly with other tabs');
  const xs = Array.from({ length: 250 }, (_, i) => i);
  assert.deepEqual(await grid.map(tasks.square, xs), xs.map((x) => x * x));
  // The only page in the grid did all 250.
  await page.waitForFunction(() => document.getElementById('done')?.textContent === '250');
  assert.equal((await workerOf(page)).tasksDone, 250);
  // Grid totals arrive over /api/events.
  const completed = (await stats()).completed;
  await page.waitForFunction((n) => Number(document.getElementById('grid-completed')?.textContent?.replace(/,/g, '')) >= n, completed);
  assert.equal(await text(page, '#grid-workers'), '1');
  assert.match(await text(page, '#state'), /Connected/);
  // Tasks straight from the coordinator are not peer work: nothing was traded.
  assert.equal(await text(page, '#peer-counts'), '');
});

test('pause stops new tasks reaching a tab (they go elsewhere); resume restarts them', { timeout: 90_000 }, async () => {
  const a = await volunteer('/?threads=2');
  const b = await volunteer('/?threads=2');
  const aId = (await status(a)).workerId;

  // A job of slow tasks reaches both; A is paused in the middle of it.
  const xs = Array.from({ length: 80 }, (_, i) => i);
  const job = grid.map(tasks.sleepThen, xs.map(() => 40), xs);
  await until('A has done some of the job', () => status(a), (s) => s.tasksDone >= 3);
  await a.click('#pause');
  const atPause = await status(a);
  assert.equal(atPause.paused, true);
  await statsUntil((s) => s.perWorker.find((w) => w.id === aId)?.paused === true);
  assert.equal(await text(a, '#pause'), 'Resume');
  assert.match(await text(a, '#state'), /Paused/);
  await a.screenshot({ path: join(ARTIFACTS, 'join-paused-desktop.png'), fullPage: true });

  // The job completes, every task once: what A held unstarted ran on B.
  assert.deepEqual(await job, xs);
  const afterJob = await status(a);
  assert.ok(
    afterJob.tasksDone <= atPause.tasksDone + 2,
    `A finished only what its 2 Web Workers were running when paused (${atPause.tasksDone} -> ${afterJob.tasksDone})`,
  );
  assert.equal(afterJob.running, 0);

  // While paused, a new job goes entirely elsewhere.
  const doneA = (await workerOf(a)).tasksDone;
  const doneB = (await workerOf(b)).tasksDone;
  const ys = Array.from({ length: 200 }, (_, i) => i);
  // One task per call, so that the tabs' task counts are the calls they ran.
  assert.deepEqual(await grid.map(tasks.square, ys, { chunkSize: 1 }), ys.map((y) => y * y));
  assert.equal((await workerOf(a)).tasksDone, doneA, 'the paused tab got no task');
  assert.equal((await workerOf(b)).tasksDone, doneB + 200, 'the other tab did them all');
  assert.equal((await status(a)).tasksDone, afterJob.tasksDone);

  // Resumed, it takes tasks again.
  await a.click('#pause');
  await statsUntil((s) => s.perWorker.find((w) => w.id === aId)?.paused === false);
  assert.equal(await text(a, '#pause'), 'Pause');
  const zs = Array.from({ length: 40 }, (_, i) => i);
  assert.deepEqual(await grid.map(tasks.sleepThen, zs.map(() => 40), zs), zs);
  assert.ok((await workerOf(a)).tasksDone > doneA, 'the resumed tab ran some of the new job');
  assert.equal((await stats()).failed, 0);
});

test('the settings pause the tab while it is hidden or on battery, and are remembered', { timeout: 60_000 }, async () => {
  // A laptop that can be unplugged, as the Battery API reports it (the test machine has no battery).
  const battery = `{ const battery = Object.assign(new EventTarget(), { charging: true }); globalThis.fakeBattery = battery;
    Object.defineProperty(Navigator.prototype, 'getBattery', { value: () => Promise.resolve(battery), configurable: true }); }`;
  const page = await volunteer('/?threads=1', { init: [battery] });
  const paused = () => status(page).then((s) => s.paused);
  assert.equal(await page.isChecked('#pause-on-battery'), false, 'off by default');
  assert.equal(await page.isChecked('#pause-when-hidden'), false, 'off by default');

  // Hidden: nothing happens until the setting is on.
  const setHidden = (hidden: boolean) =>
    page.evaluate((h) => {
      Object.defineProperty(document, 'visibilityState', { value: h ? 'hidden' : 'visible', configurable: true });
      document.dispatchEvent(new Event('visibilitychange'));
    }, hidden);
  await setHidden(true);
  assert.equal(await paused(), false);
  await page.check('#pause-when-hidden');
  assert.equal(await paused(), true);
  assert.match(await text(page, '#pause-reason'), /this tab is hidden/);
  await setHidden(false);
  assert.equal(await paused(), false);
  assert.equal(await page.isHidden('#pause-reason'), true);

  // On battery: pauses once unplugged, resumes when charging again.
  await page.check('#pause-on-battery');
  assert.equal(await paused(), false, 'charging');
  const plug = (charging: boolean) =>
    page.evaluate((ch) => {
      const battery = (globalThis as unknown as { fakeBattery: EventTarget & { charging: boolean } }).fakeBattery;
      battery.charging = ch;
      battery.dispatchEvent(new Event('chargingchange'));
    }, charging);
  await plug(false);
  assert.equal(await paused(), true);
  assert.match(await text(page, '#pause-reason'), /battery power/);
  const id = (await status(page)).workerId;
  await statsUntil((s) => s.perWorker.find((w) => w.id === id)?.paused === true);
  await plug(true);
  assert.equal(await paused(), false);
  await statsUntil((s) => s.perWorker.find((w) => w.id === id)?.paused === false);

  // Both settings survive a reload.
  await page.reload();
  await page.waitForFunction(() => (globalThis as { ladle?: { status: RuntimeStatus } }).ladle?.status.state === 'connected');
  assert.equal(await page.isChecked('#pause-on-battery'), true);
  assert.equal(await page.isChecked('#pause-when-hidden'), true);
});

test('the thread slider sets the number of Web Workers, is remembered, and ?threads=N overrides it', { timeout: 90_000 }, async () => {
  const page = await volunteer('/', { cores: 4 });
  const id = (await status(page)).workerId;
  const threadsAt = async () => (await stats()).perWorker.find((w) => w.id === id)?.threads;
  // One Web Worker per core by default; the slider goes from 1 to the core count.
  await until('4 Web Workers', () => webWorkers(page), (n) => n === 4);
  assert.equal(await page.locator('#threads').getAttribute('max'), '4');
  assert.equal(await text(page, '#threads-max'), '4');

  await page.focus('#threads');
  await page.keyboard.press('Home');
  await until('1 Web Worker', () => webWorkers(page), (n) => n === 1);
  await until('the coordinator sees 1 thread', threadsAt, (n) => n === 1);
  assert.equal(await text(page, '#threads-value'), '1');

  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  await until('3 Web Workers', () => webWorkers(page), (n) => n === 3);
  await until('the coordinator sees 3 threads', threadsAt, (n) => n === 3);
  assert.equal((await stats()).threads, 3);

  // Shrinking while tasks run: the retired Web Workers finish theirs first; nothing is lost.
  const failedBefore = (await stats()).failed;
  const xs = Array.from({ length: 12 }, (_, i) => i);
  const job = grid.map(tasks.sleepThen, xs.map(() => 300), xs);
  await until('3 tasks running', () => status(page), (s) => s.running === 3);
  await page.keyboard.press('Home');
  assert.deepEqual(await job, xs);
  await until('1 Web Worker after draining', () => webWorkers(page), (n) => n === 1);
  assert.equal((await stats()).failed, failedBefore);
  assert.equal((await status(page)).tasksDone, 12);

  // Remembered across a reload (localStorage) ...
  await page.keyboard.press('ArrowRight');
  await until('2 Web Workers', () => webWorkers(page), (n) => n === 2);
  await page.reload();
  await page.waitForFunction(() => (globalThis as { ladle?: { status: RuntimeStatus } }).ladle?.status.state === 'connected');
  await until('2 Web Workers after reload', () => webWorkers(page), (n) => n === 2);
  assert.equal(await page.locator('#threads').inputValue(), '2');
  // ... and ?threads=N wins over the remembered value.
  await page.goto(`${c.url}/?threads=3`);
  await page.waitForFunction(() => (globalThis as { ladle?: { status: RuntimeStatus } }).ladle?.status.state === 'connected');
  await until('3 Web Workers from ?threads=3', () => webWorkers(page), (n) => n === 3);
});

test('the dashboard lists the joined workers and shows a job progressing live', { timeout: 90_000 }, async () => {
  const pages = [await volunteer('/?threads=1'), await volunteer('/?threads=1')];
  const dash = await open(`/dashboard?token=${c.adminToken}`);
  // The WebRTC figures are folded away: unfold them to read them.
  await dash.locator('#peer-details > summary').click();
  const rows = dash.locator('#workers tbody tr');
  await until('2 worker rows', () => rows.count(), (n) => n === 2);
  for (const page of pages) {
    const { workerId } = await status(page);
    const row = dash.locator(`#workers tr[data-worker="${workerId}"]`);
    assert.match(await row.innerText(), /Headless Chrome \d+/);
    assert.match(await row.innerText(), /Linux/);
  }
  assert.equal(await text(dash, '#t-workers'), '2');
  assert.equal(await text(dash, '#live'), 'Live');
  // Both tabs register for WebRTC; the peer tiles and each row say so, as /api/stats does.
  await statsUntil((s) => s.peer.pages === 2);
  const peerStats = await dashboardShowsPeer(dash);
  assert.equal(await text(dash, '#p-pages'), '2');
  assert.equal(await text(dash, '#peer-heading'), 'Peer offloading (subtasks moved page to page over WebRTC)');
  for (const page of pages) {
    const { workerId } = await status(page);
    const w = peerStats.perWorker.find((p) => p.id === workerId)!;
    await until('the row shows WebRTC', () => peerCells(dash, workerId!), ([rtc]) => rtc === 'yes');
    assert.deepEqual(await peerCells(dash, workerId!), ['yes', formatNumber(w.peerTasks)]);
  }

  // A job (a new SDK connection) appears without a reload, is seen part way, then complete.
  const client = await connect({ url: c.url, token: c.token });
  const its = await client.module<typeof Tasks>(fixture('tasks.ts'));
  const xs = Array.from({ length: 60 }, (_, i) => i);
  const job = client.map(its.sleepThen, xs.map(() => 100), xs);
  const jobRow = dash.locator('#jobs tbody tr').first();
  const percent = () => jobRow.locator('.percent').innerText().then((t) => parseInt(t, 10), () => -1);
  await until('the job part way', percent, (p) => p > 0 && p < 100);
  assert.match(await jobRow.innerText(), /running/);
  await volunteer('/?threads=1', { viewport: PHONE }).then((p) => pages.push(p));
  await pages[2].screenshot({ path: join(ARTIFACTS, 'join-phone.png'), fullPage: true });
  await pages[0].screenshot({ path: join(ARTIFACTS, 'join-desktop.png'), fullPage: true });
  assert.deepEqual(await job, xs);
  await until('the job at 100%', percent, (p) => p === 100);
  const cells = await jobRow.locator('td').allInnerTexts();
  assert.ok(cells.includes('60'), `done and submitted show 60: ${cells.join(' | ')}`);
  assert.match(await jobRow.innerText(), /done/);
  await until('3 worker rows', () => rows.count(), (n) => n === 3);
  await dash.screenshot({ path: join(ARTIFACTS, 'dashboard-desktop.png'), fullPage: true });
  const phone = await open(`/dashboard?token=${c.adminToken}`, { viewport: PHONE });
  await until('phone dashboard rows', () => phone.locator('#workers tbody tr').count(), (n) => n === 3);
  await phone.screenshot({ path: join(ARTIFACTS, 'dashboard-phone.png'), fullPage: true });
  await client.close();
  await until('the job ended', () => jobRow.innerText(), (t) => /ended/.test(t));
  // Nothing on the phone layout is wider than the screen.
  for (const page of [phone, pages[2]]) {
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.equal(overflow, 0, 'no sideways scrolling on a phone');
  }
});

test('after a nested job the dashboard and both join pages show the WebRTC offloading /api/stats reports', { timeout: 120_000 }, async () => {
  const a = await volunteer('/?threads=2');
  const b = await volunteer('/?threads=2', { viewport: PHONE });
  const dash = await open(`/dashboard?token=${c.adminToken}`);
  // The WebRTC figures are folded away: unfold them to read them.
  await dash.locator('#peer-details > summary').click();
  await statsUntil((s) => s.workers === 2 && s.peer.pages === 2);
  const before = await stats();

  // SCOOP's nested chain: subtasks stay on their page, and the idle one takes some over WebRTC.
  const offload = await grid.module<typeof Offload>(fixture('offload.ts'));
  assert.equal(await grid.submit(offload.chain, 12, 3), expectedChain(12));
  const s = await dashboardShowsPeer(dash);
  assert.ok(s.peer.tasksOffloaded > before.peer.tasksOffloaded, `subtasks went page to page: ${JSON.stringify(s.peer)}`);
  assert.ok(s.peer.bytesSent > before.peer.bytesSent);
  assert.notEqual(await text(dash, '#p-offloaded'), '0');
  assert.match(await text(dash, '#p-bytes'), /^\d[\d,.]* (B|KB|MB)$/);

  // Each worker row: on WebRTC, holding what /api/stats says it holds.
  for (const page of [a, b]) {
    const { workerId } = await status(page);
    await until(
      'the row shows the stats',
      async () => ({ shown: await peerCells(dash, workerId!), held: (await stats()).perWorker.find((w) => w.id === workerId)!.peerTasks }),
      ({ shown, held }) => shown[0] === 'yes' && shown[1] === formatNumber(held),
    );
  }

  // Each tab's line: linked to the other, with its own counts (the page re-renders at most every 200 ms).
  const traded: { given: number; taken: number }[] = [];
  for (const page of [a, b]) {
    await page.waitForFunction(() => {
      const peer = (globalThis as unknown as { ladle: { status: RuntimeStatus } }).ladle.status.peer;
      const line = document.getElementById('peer')!.textContent ?? '';
      // (No named helper in here: tsx would wrap it in a function the page lacks.)
      const given = `handed ${peer.given.toLocaleString('en-US')} task`;
      const taken = `took ${peer.taken.toLocaleString('en-US')} from other tabs`;
      return peer.given + peer.taken > 0 && line.includes(given) && line.includes(taken);
    });
    const { peer } = await status(page);
    traded.push(peer);
    assert.equal(await page.locator('#peer').getAttribute('data-state'), 'open');
    assert.match(
      await text(page, '#peer'),
      new RegExp(`^Sharing work directly with 1 other tab · handed ${formatNumber(peer.given)} tasks? to other tabs · took ${formatNumber(peer.taken)} from other tabs · sent \\d[\\d.,]* (B|KB|MB)$`),
    );
  }
  // What the tabs handed each other is what the dashboard counts (each of them since it joined).
  const given = traded.reduce((n, t) => n + t.given, 0);
  assert.equal(given, s.peer.tasksOffloaded - before.peer.tasksOffloaded);
  assert.equal(traded.reduce((n, t) => n + t.taken, 0), given);

  await dash.screenshot({ path: join(ARTIFACTS, 'dashboard-peer-desktop.png'), fullPage: true });
  await a.screenshot({ path: join(ARTIFACTS, 'join-peer-desktop.png'), fullPage: true });
  await b.screenshot({ path: join(ARTIFACTS, 'join-peer-phone.png'), fullPage: true });
  const phone = await open(`/dashboard?token=${c.adminToken}`, { viewport: PHONE });
  await dashboardShowsPeer(phone);
  await phone.screenshot({ path: join(ARTIFACTS, 'dashboard-peer-phone.png'), fullPage: true });
  for (const page of [phone, b]) {
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.equal(overflow, 0, 'no sideways scrolling on a phone');
  }
});

test('/api/events streams the stats; ?view=totals leaves out the lists', { timeout: 30_000 }, async () => {
  for (const [query, full] of [[`?token=${c.adminToken}`, true], [`?token=${c.adminToken}&view=totals`, false], ['', false]] as const) {
    const ac = new AbortController();
    const res = await fetch(`${c.url}/api/events${query}`, { signal: ac.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const reader = res.body!.getReader();
    let buffered = '';
    const events: Record<string, unknown>[] = [];
    while (events.length < 2) {
      const { value, done } = await reader.read();
      assert.equal(done, false);
      buffered += Buffer.from(value).toString();
      let end: number;
      while ((end = buffered.indexOf('\n\n')) >= 0) {
        const block = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        const data = block.split('\n').find((l) => l.startsWith('data: '));
        if (data) events.push(JSON.parse(data.slice(6)) as Record<string, unknown>);
      }
    }
    ac.abort();
    for (const e of events) {
      assert.equal(typeof e.workers, 'number');
      assert.equal(typeof e.uptimeSeconds, 'number');
      assert.equal('perWorker' in e, full);
      assert.equal('jobs' in e, full);
    }
  }
});
