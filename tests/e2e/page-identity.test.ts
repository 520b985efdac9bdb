// A volunteer page's identity in real Chromium against a real coordinator:
// the secret it keeps in IndexedDB and sends in every hello survives reloads
// and later visits, separate browsers differ, storage that is blocked or
// holds garbage still joins, a hello with a malformed identity is refused
// with a clear reason, and the join page shows the volunteer its record.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startCoordinator, type Coordinator } from '../../coordinator/coordinator.ts';
import { publicId } from '../../coordinator/page-identity.ts';
import { CloseCode, PROTOCOL_VERSION, decodeFrame, encodeFrame, parseHello, type PageHello } from '../../protocol/messages.ts';
import type { RuntimeStatus } from '../../browser-worker/runtime.ts';
import type { Standing } from '../../browser-worker/identity.ts';
import { connect } from '../../client-sdk/index.ts';
import { fixture, testBrowser } from '../helpers/grid.ts';
import type * as Tasks from '../fixtures/tasks.ts';
import type * as Verify from '../fixtures/verify.ts';

const ARTIFACTS = fileURLToPath(new URL('../../test-results/', import.meta.url));

let dataDir: string;
let c: Coordinator;
let browser: Browser;
const contexts: BrowserContext[] = [];
/** Errors the pages of the current test logged or threw. */
const errors: string[] = [];

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'ladle-identity-'));
  c = await startCoordinator({ host: '127.0.0.1', port: 0, dataDir });
  browser = await testBrowser();
});

afterEach(async () => {
  for (const context of contexts.splice(0)) await context.close();
  assert.deepEqual(errors.splice(0), [], 'the pages logged no errors');
});

after(async () => {
  await c?.close();
  await rm(dataDir, { recursive: true, force: true });
});

/** A browser context of its own: one volunteer's browser, with its own storage. */
async function volunteer(): Promise<BrowserContext> {
  const context = await browser.newContext();
  contexts.push(context);
  context.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  context.on('weberror', (e) => errors.push(e.error().message));
  return context;
}

/** A join page whose hellos to the coordinator (the first frame on each of its page sockets) are kept, decoded. */
async function joinPage(context: BrowserContext, coordinator = c): Promise<{ page: Page; hellos: PageHello[] }> {
  const page = await context.newPage();
  const hellos: PageHello[] = [];
  page.on('websocket', (ws) => {
    if (new URL(ws.url()).pathname !== '/ws') return;
    let first = true;
    ws.on('framesent', ({ payload }) => {
      if (!first) return;
      first = false;
      const hello = decodeFrame(new Uint8Array(payload as Buffer), parseHello);
      // Its Web Workers' task lanes say hellos of their own.
      if (hello.role === 'worker') hellos.push(hello);
    });
  });
  await page.goto(`${coordinator.url}/?threads=1`);
  await connected(page);
  return { page, hellos };
}

function connected(page: Page): Promise<unknown> {
  return page.waitForFunction(() => (globalThis as { ladle?: { status: RuntimeStatus } }).ladle?.status.state === 'connected');
}

/** What the page's IndexedDB holds under the identity key. */
function storedIdentity(page: Page): Promise<unknown> {
  return page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open('ladle-identity');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          const get = db.transaction('identity').objectStore('identity').get('ladle.identity');
          get.onerror = () => reject(get.error);
          get.onsuccess = () => {
            db.close();
            resolve(get.result);
          };
        };
      }),
  );
}

function status(page: Page): Promise<RuntimeStatus> {
  return page.evaluate(() => (globalThis as unknown as { ladle: { status: RuntimeStatus } }).ladle.status);
}

async function identityStatus(page: Page): Promise<RuntimeStatus['identity']> {
  return (await status(page)).identity;
}

test('a page keeps its identity across reloads and later visits: every hello carries the same secret', async () => {
  const context = await volunteer();
  const { page, hellos } = await joinPage(context);
  await page.reload();
  await connected(page);
  assert.equal(hellos.length, 2, 'one hello per load');
  const secret = hellos[0].identity;
  assert.match(secret ?? '', /^[A-Za-z0-9_-]{43}$/);
  assert.equal(hellos[1].identity, secret, 'the reloaded page says the same identity');
  assert.equal(await storedIdentity(page), secret, 'kept in IndexedDB under ladle.identity');
  assert.deepEqual(await identityStatus(page), { id: publicId(secret!), kept: true });
  // The volunteer reads its record and its public id (the one the operator's dashboard lists).
  // Nothing of it checked yet, the coordinator sends no record: the page shows the id alone.
  await page.waitForFunction((text) => document.getElementById('record')?.textContent === text, `Volunteer id ${publicId(secret!).slice(0, 8)}`);
  assert.equal(await page.locator('#identity-note').isHidden(), true, 'no warning when storage works');

  // Another tab of the same browser, later: the same volunteer.
  const later = await joinPage(context);
  assert.equal(later.hellos[0].identity, secret);
});

test('pages in separate browsers have different identities', async () => {
  const [a, b] = await Promise.all([volunteer().then(joinPage), volunteer().then(joinPage)]);
  const [secretA, secretB] = [a.hellos[0].identity, b.hellos[0].identity];
  assert.match(secretA ?? '', /^[A-Za-z0-9_-]{43}$/);
  assert.match(secretB ?? '', /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(secretA, secretB);
  assert.notEqual((await identityStatus(a.page))?.id, (await identityStatus(b.page))?.id);
});

test('garbage stored as the identity is replaced by a fresh secret', async () => {
  const context = await volunteer();
  const { page, hellos } = await joinPage(context);
  await page.evaluate(
    () =>
      new Promise<void>((resolve, reject) => {
        const open = indexedDB.open('ladle-identity');
        open.onsuccess = () => {
          const tx = open.result.transaction('identity', 'readwrite');
          tx.objectStore('identity').put('not a secret', 'ladle.identity');
          tx.oncomplete = () => {
            open.result.close();
            resolve();
          };
          tx.onerror = () => reject(tx.error);
        };
      }),
  );
  await page.reload();
  await connected(page);
  const fresh = hellos[1].identity;
  assert.match(fresh ?? '', /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(fresh, hellos[0].identity);
  assert.equal(await storedIdentity(page), fresh);
});

test('without IndexedDB a page still joins, with an identity for this load only, and says so', async () => {
  const context = await volunteer();
  // As a private window or blocked site data does: opening a database fails.
  await context.addInitScript(() => {
    IDBFactory.prototype.open = () => {
      throw new DOMException('The user denied permission to access the database.', 'SecurityError');
    };
  });
  const { page, hellos } = await joinPage(context);
  await page.reload();
  await connected(page);
  const [first, second] = hellos.map((h) => h.identity);
  assert.match(first ?? '', /^[A-Za-z0-9_-]{43}$/);
  assert.match(second ?? '', /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(first, second, 'nothing kept: each load is a new volunteer');
  assert.deepEqual(await identityStatus(page), { id: publicId(second!), kept: false });
  const note = page.locator('#identity-note');
  assert.equal(await note.isVisible(), true);
  assert.match((await note.textContent()) ?? '', /each visit joins as a new volunteer/);
});

test('a hello with a malformed identity is refused with a clear close reason', async () => {
  const hello = { t: 'hello', role: 'worker', threads: 1, userAgent: 'raw test page', version: PROTOCOL_VERSION } as const;
  for (const identity of ['short', `${'A'.repeat(42)}=`, 'A'.repeat(44)]) {
    const ws = new WebSocket(`ws://127.0.0.1:${c.port}/ws`);
    await once(ws, 'open');
    ws.send(encodeFrame({ ...hello, identity }));
    const [code, reason] = (await once(ws, 'close')) as [number, Buffer];
    assert.equal(code, CloseCode.PROTOCOL);
    assert.equal(reason.toString(), 'hello.identity must be 43 base64url characters (32 random bytes)');
  }
});

test('the join page shows the volunteer the record the coordinator sends, and keeps its identity across a reconnect', async () => {
  const context = await volunteer();
  const page = await context.newPage();
  // The real coordinator's socket, with `standing` frames added on its way
  // to the page, and a way to cut it (the page then reconnects).
  const hellos: PageHello[] = [];
  let toPage: ((standing: Standing) => void) | undefined;
  let cut: (() => void) | undefined;
  await page.routeWebSocket(/\/ws$/, (ws) => {
    const server = ws.connectToServer();
    let first = true;
    ws.onMessage((frame) => {
      if (first) hellos.push(decodeFrame(new Uint8Array(frame as Buffer), parseHello) as PageHello);
      first = false;
      server.send(frame);
    });
    toPage = (standing) => ws.send(Buffer.from(encodeFrame({ t: 'standing', ...standing })));
    cut = () => {
      void ws.close({ code: CloseCode.RESTARTING });
      void server.close();
    };
  });
  await page.goto(`${c.url}/?threads=1`);
  await connected(page);
  const record = page.locator('#record');
  const shows = async (s: Standing, words: string, state: string) => {
    toPage!(s);
    await page.waitForFunction(([words]) => document.getElementById('standing')?.textContent === words, [words]);
    assert.equal(await record.getAttribute('data-state'), state);
    assert.equal(await record.isVisible(), true);
  };
  // Joining with nothing checked, the coordinator sends no record: the id alone shows.
  await page.waitForFunction(() => /^Volunteer id [0-9a-f]{8}$/.test(document.getElementById('record')?.textContent ?? ''));
  await shows({ checked: 0, agreed: 0, trusted: false, quarantined: false }, 'Your results: not yet checked', 'unchecked');
  await shows({ checked: 3, agreed: 3, trusted: false, quarantined: false }, 'Your results: 3 checked, all agreed: not yet trusted', 'untrusted');
  await shows({ checked: 120, agreed: 120, trusted: true, quarantined: false }, 'Your results: 120 checked, all agreed: trusted', 'trusted');
  await shows(
    { checked: 121, agreed: 120, trusted: false, quarantined: true },
    "Your results: quarantined: a result of yours disagreed with other volunteers'; this grid no longer gives you verified work",
    'quarantined',
  );
  assert.match((await page.locator('#volunteer-id').textContent()) ?? '', /^ · Volunteer id [0-9a-f]{8}$/);

  // The connection drops: the page rejoins with the same identity.
  const before = (await status(page)).workerId;
  cut!();
  // Rejoined: connected again, as a new worker of the coordinator's.
  await page.waitForFunction((before) => {
    const { status } = (globalThis as unknown as { ladle: { status: RuntimeStatus } }).ladle;
    return status.state === 'connected' && status.workerId !== before;
  }, before);
  assert.equal(hellos.length, 2);
  assert.match(hellos[0].identity ?? '', /^[A-Za-z0-9_-]{43}$/);
  assert.equal(hellos[1].identity, hellos[0].identity);
});

test('with verification on, each volunteer sees its record on the join page, the operator on the dashboard, and it survives a reload', { timeout: 120_000 }, async () => {
  const verifyDir = await mkdtemp(join(tmpdir(), 'ladle-identity-verify-'));
  const v = await startCoordinator({ host: '127.0.0.1', port: 0, dataDir: verifyDir, verify: 2 });
  const grid = await connect({ url: v.url, token: v.token });
  const ours = contexts.length;
  try {
    const [a, b] = await Promise.all([volunteer().then((ctx) => joinPage(ctx, v)), volunteer().then((ctx) => joinPage(ctx, v))]);
    const tasks = await grid.module<typeof Tasks>(fixture('tasks.ts'));
    const xs = [1, 2, 3, 4, 5, 6];
    // Two pages and verify: 2: every task runs on both, and they agree.
    assert.deepEqual(await Promise.all(xs.map((x) => grid.submit(tasks.square, x))), xs.map((x) => x * x));
    const trusted = 'Your results: 6 checked, all agreed: trusted';
    for (const { page } of [a, b]) {
      await page.waitForFunction((words) => document.getElementById('standing')?.textContent === words, trusted);
      assert.equal(await page.locator('#record').getAttribute('data-state'), 'trusted');
    }

    // The operator sees the same record under the same public id.
    const dash = await (await volunteer()).newPage();
    await dash.goto(`${v.url}/dashboard?token=${v.adminToken}`);
    for (const { page, hellos } of [a, b]) {
      const id = publicId(hellos[0].identity!);
      const { workerId } = await status(page);
      const row = dash.locator(`#workers tr[data-worker="${workerId}"]`);
      await row.locator('td[data-label="Trust"]').filter({ hasText: 'trusted 6/6' }).waitFor();
      assert.equal(await row.locator('td[data-label="Volunteer"]').innerText(), id.slice(0, 8));
      assert.equal(await page.locator('#volunteer-id').textContent(), ` · Volunteer id ${id.slice(0, 8)}`);
    }
    await dash.locator('#verify-details').waitFor();
    assert.equal(await dash.locator('#v-tasks').innerText(), '6');
    assert.equal(await dash.locator('#v-extra').innerText(), '6');
    assert.equal(await dash.locator('#v-share').innerText(), '100%');
    await mkdir(ARTIFACTS, { recursive: true });
    await dash.setViewportSize({ width: 1280, height: 800 });
    await dash.screenshot({ path: join(ARTIFACTS, 'dashboard-trust-desktop.png'), fullPage: true });
    await a.page.screenshot({ path: join(ARTIFACTS, 'join-trusted-desktop.png'), fullPage: true });

    // A reload rejoins as the same volunteer: the coordinator still has its record.
    await a.page.reload();
    await connected(a.page);
    assert.equal(a.hellos[1].identity, a.hellos[0].identity);
    await a.page.waitForFunction((words) => document.getElementById('standing')?.textContent === words, trusted);
  } finally {
    // The pages go first: a coordinator closing under them is an error on the page.
    for (const context of contexts.splice(ours)) await context.close();
    await grid.close();
    await v.close();
    await rm(verifyDir, { recursive: true, force: true });
  }
});

test('a volunteer whose result lost a quorum reads on its join page that it is quarantined, and the dashboard marks it', { timeout: 120_000 }, async () => {
  const verifyDir = await mkdtemp(join(tmpdir(), 'ladle-identity-liar-'));
  const v = await startCoordinator({ host: '127.0.0.1', port: 0, dataDir: verifyDir, verify: 2 });
  const grid = await connect({ url: v.url, token: v.token });
  const ours = contexts.length;
  try {
    // A real page whose results are wrong: its Web Workers read this user agent (see the fixture).
    const liarContext = await browser.newContext({ userAgent: 'Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome LadleLiar' });
    contexts.push(liarContext);
    liarContext.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    const [a, b, liar] = await Promise.all([volunteer().then((ctx) => joinPage(ctx, v)), volunteer().then((ctx) => joinPage(ctx, v)), joinPage(liarContext, v)]);
    const tasks = await grid.module<typeof Verify>(fixture('verify.ts'));
    const quarantined = "Your results: quarantined: a result of yours disagreed with other volunteers'; this grid no longer gives you verified work";
    const liarShows = () => liar.page.evaluate((words) => document.getElementById('standing')?.textContent === words, quarantined);
    // Rounds of tasks until the liar has had one checked (each round's 6 tasks run twice on 3 one-thread pages: it gets some).
    for (let round = 0; round < 5 && !(await liarShows()); round++) {
      const xs = [1, 2, 3, 4, 5, 6].map((x) => x + 6 * round);
      assert.deepEqual(await Promise.all(xs.map((x) => grid.submit(tasks.square, x))), xs.map((x) => x * x), 'no wrong result delivered');
    }
    await liar.page.waitForFunction((words) => document.getElementById('standing')?.textContent === words, quarantined);
    assert.equal(await liar.page.locator('#record').getAttribute('data-state'), 'quarantined');
    for (const { page } of [a, b]) assert.match((await page.locator('#standing').textContent()) ?? '', /^Your results: \d+ checked, all agreed/);

    const dash = await (await volunteer()).newPage();
    await dash.goto(`${v.url}/dashboard?token=${v.adminToken}`);
    const { workerId } = await status(liar.page);
    await dash.locator(`#workers tr[data-worker="${workerId}"] td[data-label="Trust"] .badge.quarantined`).waitFor();
    await dash.locator('#verify-details').waitFor();
    assert.equal(await dash.locator('#v-quarantined').innerText(), '1');
  } finally {
    for (const context of contexts.splice(ours)) await context.close();
    await grid.close();
    await v.close();
    await rm(verifyDir, { recursive: true, force: true });
  }
});
