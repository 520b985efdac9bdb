// The dashboard and the join page for a room, in real Chromium at desktop and
// phone sizes (screenshots go to test-results/): overview first, named jobs
// with progress and ETA, the LAN join address with its QR code, the WebRTC
// detail collapsed; on the join page plain words, a wake lock toggle, and
// half the cores on a phone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { startCoordinator, type Coordinator } from '../../coordinator/coordinator.ts';
import { joinUrls } from '../../coordinator/join-urls.ts';
import { connect } from '../../client-sdk/index.ts';
import { fixture, testBrowser } from '../helpers/grid.ts';
import type * as Room from '../fixtures/room.ts';

const ARTIFACTS = fileURLToPath(new URL('../../test-results/', import.meta.url));
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const PHONE_UA = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/150.0 Mobile Safari/537.36';

let dataDir: string;
let c: Coordinator;
let browser: Browser;
const errors: string[] = [];

before(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  dataDir = await mkdtemp(join(tmpdir(), 'ladle-room-'));
  // Bound to every interface, as in a classroom: the join URLs name the LAN addresses.
  c = await startCoordinator({ host: '0.0.0.0', port: 0, dataDir });
  browser = await testBrowser();
});
after(async () => {
  await c?.close();
  await rm(dataDir, { recursive: true, force: true });
});

async function open(path: string, options: { viewport?: typeof DESKTOP; userAgent?: string; cores?: number; plainHttp?: boolean } = {}): Promise<Page> {
  const context = await browser.newContext({ viewport: options.viewport ?? DESKTOP, userAgent: options.userAgent });
  if (options.cores !== undefined) await context.addInitScript({ content: `Object.defineProperty(Navigator.prototype, 'hardwareConcurrency', { get: () => ${options.cores} });` });
  // As on a LAN address over plain http (127.0.0.1 is a secure context): no wake lock.
  if (options.plainHttp) await context.addInitScript({ content: `delete Navigator.prototype.wakeLock; Object.defineProperty(window, 'isSecureContext', { get: () => false });` });
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`${path}: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`${path}: uncaught: ${e.message}`));
  await page.goto(new URL(path, `http://127.0.0.1:${c.port}`).href);
  return page;
}

/** Polls what a page shows until it passes `ok` (fails after `timeoutMs`, saying what it last saw). */
async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await read().catch(() => last);
    if (last !== undefined && ok(last)) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last saw ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const connected = (page: Page) => page.waitForFunction(() => (globalThis as unknown as { ladle?: { status: { state: string } } }).ladle?.status.state === 'connected');

test("the room's dashboard: overview, named jobs with progress and ETA, the LAN join address and its QR code", { timeout: 120_000 }, async () => {
  const volunteer = await open('/?threads=2');
  await connected(volunteer);
  const dash = await open(`/dashboard?token=${c.adminToken}`);
  const client = await connect({ url: `http://127.0.0.1:${c.port}`, token: c.token, name: 'lab 3: alice' });
  try {
    const t = await client.module<typeof Room>(fixture('room.ts'));
    const n = 60;
    const job = client.map(t.spin, Array(n).fill(100), Array.from({ length: n }, (_, i) => i), { name: 'lab 3: pi' });
    const row = dash.locator('#jobs tbody tr', { hasText: 'lab 3: pi' });
    const cellOf = (label: string) => row.locator(`td[data-label="${label}"]`).innerText();
    // Part way, with a rate and an ETA; running counts what runs (2 threads), prefetched apart.
    await until('an ETA while the job runs', () => cellOf('ETA'), (eta) => /^\d/.test(eta), 60_000);
    assert.match(await row.innerText(), /running/);
    const running = Number(await dash.locator('#t-running').innerText());
    assert.ok(running <= 2, `running shows at most the 2 threads (${running})`);
    assert.match(await dash.locator('#t-prefetched').innerText(), /^\d+$/);
    await dash.screenshot({ path: join(ARTIFACTS, 'room-dashboard-desktop.png'), fullPage: true });
    assert.equal((await job).length, n);
    await until('the job done', () => row.locator('.percent').innerText(), (p) => p === '100%');
    assert.equal(await cellOf('Done'), String(n));
  } finally {
    await client.close();
  }

  // The overview comes first, then jobs, the join card, workers; the WebRTC detail is collapsed.
  const order = await dash.evaluate(() =>
    ['t-workers', 'jobs', 'join-big', 'workers', 'peer-details'].map((id) => document.getElementById(id)!.getBoundingClientRect().top + window.scrollY),
  );
  assert.deepEqual([...order].sort((a, b) => a - b), order, `sections in order: ${order.join(', ')}`);
  assert.equal(await dash.locator('#peer-details').getAttribute('open'), null, 'WebRTC collapsed');
  assert.equal(await dash.locator('#p-pages').isVisible(), false);

  // The join address is the coordinator's first (a LAN address when it has one, never 127.0.0.1 then), with its QR code.
  const [first] = joinUrls({ host: c.host, port: c.port, url: c.url });
  await until('the join address', () => dash.locator('#join-big').innerText(), (u) => u === first);
  if (!first.includes('127.0.0.1')) assert.doesNotMatch(await dash.locator('#join-url').innerText(), /127\.0\.0\.1/);
  assert.ok(await dash.locator('#join-qr').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0), 'the QR code is drawn');

  const phone = await open(`/dashboard?token=${c.adminToken}`, { viewport: PHONE });
  await until('the phone lists the job', () => phone.locator('#jobs tbody tr', { hasText: 'lab 3: pi' }).count(), (k) => k === 1);
  await phone.screenshot({ path: join(ARTIFACTS, 'room-dashboard-phone.png'), fullPage: true });
  assert.equal(await phone.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth), 0, 'no sideways scrolling');
  await volunteer.context().close();
  await dash.context().close();
  await phone.context().close();
  assert.deepEqual(errors.splice(0), []);
});

test('the join page on a phone: half the cores, a wake lock toggle, plain words', { timeout: 60_000 }, async () => {
  const page = await open('/', { viewport: PHONE, userAgent: PHONE_UA, cores: 8 });
  await connected(page);
  assert.equal(await page.locator('#threads-value').innerText(), '4', 'a phone starts with half its 8 cores');
  assert.equal(await page.locator('#keep-awake').isVisible(), true);
  assert.equal(await page.locator('#sleep-hint').isVisible(), false, 'no sleep hint on a tab that never slept');
  const words = await page.locator('body').innerText();
  assert.doesNotMatch(words, /WebRTC|Web Worker|coordinator/);
  await page.screenshot({ path: join(ARTIFACTS, 'room-join-phone.png'), fullPage: true });
  assert.equal(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth), 0, 'no sideways scrolling');
  assert.equal(await page.locator('#keep-awake').isDisabled(), false);
  // A desktop with the same cores starts with all of them. On a plain http
  // address it gets no wake lock, and says why and what to do.
  const desk = await open('/', { cores: 8, plainHttp: true });
  await connected(desk);
  assert.equal(await desk.locator('#threads-value').innerText(), '8');
  assert.equal(await desk.locator('#keep-awake').isDisabled(), true);
  assert.equal(await desk.locator('#keep-awake-note').innerText(), '(browsers allow it only on https:// addresses: keep the screen on by hand)');
  await page.context().close();
  await desk.context().close();
  assert.deepEqual(errors.splice(0), []);
});
