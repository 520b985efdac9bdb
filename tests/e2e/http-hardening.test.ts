// The coordinator's HTTP side and who may see what, attacked over real
// sockets (and from another site's page in real Chromium): upload tokens are
// checked before a body is read, one throttle covers every token check
// without locking out the right holder, sockets are same-origin, worker and
// job details need a token, pages cannot inflate the public totals, and
// uploads and shared constants have per-token budgets.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import WebSocket from 'ws';
import type { Coordinator } from '../../coordinator/coordinator.ts';
import { sha256Hex } from '../../coordinator/bundle-store.ts';
import { connect } from '../../client-sdk/index.ts';
import { PROTOCOL_VERSION, encodeFrame } from '../../protocol/messages.ts';
import { startTestGrid, fixture, type TestGrid, withCoordinator } from '../helpers/grid.ts';
import type * as Tasks from '../fixtures/tasks.ts';

const wsUrl = (c: Coordinator) => `${c.url.replace('http', 'ws')}/ws`;

/** Says a client hello with `token`; resolves with the welcome's tag or the close reason. */
async function clientHello(c: Coordinator, token: string): Promise<string> {
  const ws = new WebSocket(wsUrl(c));
  ws.on('error', () => undefined);
  await once(ws, 'open');
  ws.send(encodeFrame({ t: 'hello', role: 'client', token, version: PROTOCOL_VERSION }));
  const answer = await Promise.race([once(ws, 'message').then(() => 'welcome'), once(ws, 'close').then(([, reason]) => String(reason))]);
  ws.close();
  return answer;
}

const put = (c: Coordinator, body: string, token: string) =>
  fetch(`${c.url}/api/bundles/${sha256Hex(body)}`, { method: 'PUT', body, headers: { authorization: `Bearer ${token}` } });

let g: TestGrid;
before(async () => {
  g = await startTestGrid({ pages: 1, threads: 2, coordinator: { token: 'default-secret-token', tokens: { alice: 'alice-secret-token' } } });
});
after(async () => {
  await g?.close();
});

test("an upload's token is checked before a byte of its body is read", { timeout: 30_000 }, async () => {
  const { port } = g.coordinator;
  const status = await new Promise<number>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'PUT', path: `/api/bundles/${'a'.repeat(64)}`, headers: { 'content-length': 32 * 1024 * 1024 } });
    req.on('response', (res) => resolve(res.statusCode ?? 0));
    req.on('error', () => undefined);
    // Only the headers and 1 KiB of the promised 32 MiB: the answer must not wait for the rest.
    req.write(Buffer.alloc(1024));
    setTimeout(() => reject(new Error('the coordinator waited for the body before checking the token')), 10_000).unref();
  });
  assert.equal(status, 401);
});

test('private details need a token: the public stats, events and dashboard show totals only', { timeout: 60_000 }, async () => {
  const c = g.coordinator;
  const tasks = await g.grid.module<typeof Tasks>(fixture('tasks.ts'));
  assert.equal(await g.grid.submit(tasks.square, 4), 16);
  const pub = (await (await fetch(`${c.url}/api/stats`)).json()) as Record<string, unknown>;
  assert.equal(pub.workers, 1);
  assert.ok((pub.completed as number) >= 1);
  assert.ok(!('perWorker' in pub) && !('jobs' in pub), 'no per-worker or per-job lists');
  const text = JSON.stringify(pub);
  assert.doesNotMatch(text, /Chrome|alice|default/, 'no user agent, no token name');

  for (const token of [c.adminToken, c.token, 'alice-secret-token']) {
    const full = (await (await fetch(`${c.url}/api/stats`, { headers: { authorization: `Bearer ${token}` } })).json()) as { perWorker: { userAgent: string }[]; jobs: { token: string }[] };
    assert.match(full.perWorker[0].userAgent, /Chrome/);
    assert.ok(full.jobs.some((j) => j.token === 'default'));
  }
  assert.equal((await fetch(`${c.url}/api/stats?token=wrong-token-1`)).status, 401);
  // The admin token views; it does not upload.
  assert.equal((await put(c, 'export const x = 1;', c.adminToken)).status, 401);

  // The dashboard without the token: totals, and a hint instead of the lists.
  // A visitor's browser: the honest page's, in a context of its own.
  const visitor = await g.workers.browser.newContext();
  try {
    const page = await visitor.newPage();
    await page.goto(`${c.url}/dashboard`);
    await page.waitForFunction(() => document.getElementById('t-workers')?.textContent === '1');
    assert.match((await page.locator('#no-workers').innerText()) ?? '', /operator only/);
    assert.equal(await page.locator('#workers tbody tr').count(), 0);
    assert.doesNotMatch(await page.content(), /HeadlessChrome/);
    await page.goto(`${c.url}/dashboard?token=${c.adminToken}`);
    await page.waitForFunction(() => document.querySelectorAll('#workers tbody tr').length === 1);
  } finally {
    await visitor.close();
  }
});

test('a page reporting a quadrillion tasks done does not move the public totals', { timeout: 30_000 }, async () => {
  const c = g.coordinator;
  const publicNow = async () => {
    const { uptimeSeconds: _u, ...rest } = (await (await fetch(`${c.url}/api/stats`)).json()) as Record<string, unknown>;
    return rest;
  };
  const ws = new WebSocket(wsUrl(c));
  ws.on('error', () => undefined);
  await once(ws, 'open');
  ws.send(encodeFrame({ t: 'hello', role: 'worker', threads: 1, userAgent: 'forger', version: PROTOCOL_VERSION }));
  await once(ws, 'message');
  ws.send(encodeFrame({ t: 'pong' }));
  const before = await publicNow();
  const forged = 1e15;
  ws.send(
    encodeFrame({ t: 'report', started: [], results: [], lost: [], submit: [], cancel: [], blocked: 0, ready: 0, local: 0, localDone: forged, peerBytes: forged, copied: forged, refused: forged, links: 1000 }),
  );
  // The report is processed once the private view shows what the page claimed (to token holders, as reported).
  const admin = { authorization: `Bearer ${c.adminToken}` };
  for (let i = 0; ; i++) {
    const full = (await (await fetch(`${c.url}/api/stats`, { headers: admin })).json()) as { perWorker: { userAgent: string; tasksDone: number }[] };
    if (full.perWorker.find((w) => w.userAgent === 'forger')?.tasksDone === forged) break;
    assert.ok(i < 100, 'the forged report reached the coordinator');
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.deepEqual(await publicNow(), before, 'the public totals are what the coordinator counted');
  assert.doesNotMatch(JSON.stringify(await publicNow()), /1e\+15|1000000000000000/);
  ws.close();
});

test('worker sockets are same-origin: a page of another site cannot join from a visitor\'s browser', { timeout: 60_000 }, async () => {
  const c = g.coordinator;
  const origins: [string | undefined, boolean][] = [
    [undefined, true],
    [c.url, true],
    ['http://evil.example', false],
    ['null', false],
  ];
  for (const [origin, allowed] of origins) {
    const ws = new WebSocket(wsUrl(c), { headers: origin ? { origin } : {} });
    ws.on('error', () => undefined);
    const outcome = await Promise.race([once(ws, 'open').then(() => 'open'), once(ws, 'unexpected-response').then(([, res]) => String((res as { statusCode: number }).statusCode))]);
    assert.equal(outcome, allowed ? 'open' : '403', `Origin ${origin}`);
    ws.close();
  }

  // Another site (here another port: another origin) whose script opens the coordinator's socket.
  let evil: Server | undefined;
  // A visitor's browser: the honest page's, in a context of its own.
  const visitor = await g.workers.browser.newContext();
  try {
    evil = createServer((_req, res) => res.setHeader('content-type', 'text/html').end('<!doctype html><title>cat pictures</title>'));
    evil.listen(0, '127.0.0.1');
    await once(evil, 'listening');
    const evilUrl = `http://127.0.0.1:${(evil.address() as { port: number }).port}/`;
    const page = await visitor.newPage();
    await page.goto(evilUrl);
    const outcome = await page.evaluate(
      (url) =>
        new Promise<string>((resolve) => {
          const ws = new WebSocket(url);
          ws.onopen = () => resolve('open');
          ws.onerror = () => resolve('refused');
        }),
      wsUrl(c),
    );
    assert.equal(outcome, 'refused');
    assert.equal(((await (await fetch(`${c.url}/api/stats`)).json()) as { workers: number }).workers, 1, 'only the honest page is a worker');
  } finally {
    await visitor.close();
    evil?.close();
  }
});

test('--allowed-origins lets named origins in', { timeout: 30_000 }, async () => {
  await withCoordinator({ allowedOrigins: ['https://ladle.example.org'] }, async (c) => {
    for (const [origin, expected] of [['https://ladle.example.org', 'open'], ['https://other.example.org', '403']]) {
      const ws = new WebSocket(wsUrl(c), { headers: { origin } });
      ws.on('error', () => undefined);
      const outcome = await Promise.race([once(ws, 'open').then(() => 'open'), once(ws, 'unexpected-response').then(([, res]) => String((res as { statusCode: number }).statusCode))]);
      assert.equal(outcome, expected, origin);
      ws.close();
    }
  });
});

test('one throttle for every token check: a guesser is locked out over HTTP and WebSocket, the right holder behind the same address is not', { timeout: 60_000 }, async () => {
  await withCoordinator({ tokens: { alice: 'alice-secret-token', bob: 'bob-secret-token' } }, async (c) => {
    // Alice works from this address first: her token is proven here.
    const alice = await connect({ url: c.url, token: 'alice-secret-token' });
    try {
      assert.equal((await put(c, 'export const a = 1;', 'alice-secret-token')).status, 204);
      // A guesser at the same address: 5 wrong uploads, then it is refused unchecked.
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++) statuses.push((await put(c, `export const g = ${i};`, `guess-${i}`)).status);
      assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429, 429]);
      const locked = await put(c, 'export const g = 9;', 'guess-9');
      assert.match(locked.headers.get('retry-after') ?? '', /^\d+$/);
      // The same lockout holds on the WebSocket, and on the stats API...
      assert.match(await clientHello(c, 'guess-ws'), /too many failed attempts; retry in \d+ s/);
      assert.equal((await fetch(`${c.url}/api/stats`, { headers: { authorization: 'Bearer guess-stats' } })).status, 429);
      // ...even for a real token never used from here (Bob's): new tokens are refused unchecked.
      assert.match(await clientHello(c, 'bob-secret-token'), /too many failed attempts/);
      assert.equal((await put(c, 'export const b = 1;', 'bob-secret-token')).status, 429);
      // Alice is not locked out: her uploads, new sessions and details go on.
      assert.equal((await put(c, 'export const a = 2;', 'alice-secret-token')).status, 204);
      assert.equal(await clientHello(c, 'alice-secret-token'), 'welcome');
      assert.equal((await fetch(`${c.url}/api/stats`, { headers: { authorization: 'Bearer alice-secret-token' } })).status, 200);
      const again = await connect({ url: c.url, token: 'alice-secret-token' });
      await again.close();
    } finally {
      await alice.close();
    }
  });
});

test('uploads and shared constants have per-token budgets with a clear error', { timeout: 30_000 }, async () => {
  await withCoordinator({ bundleQuotaBytes: 64 * 1024, sharedQuotaBytes: 16 * 1024 }, async (c) => {
    const big = (n: number) => `export const x${n} = "${'x'.repeat(40 * 1024)}";`;
    assert.equal((await put(c, big(1), c.token)).status, 204);
    assert.equal((await put(c, big(1), c.token)).status, 204, 'the same bundle again costs nothing');
    const over = await put(c, big(2), c.token);
    assert.equal(over.status, 413);
    assert.match(await over.text(), /quota of 65536 bytes/);

    const grid = await connect({ url: c.url, token: c.token });
    try {
      await grid.shared.set({ small: new Uint8Array(8 * 1024) });
      await assert.rejects(grid.shared.set({ large: new Uint8Array(12 * 1024) }), /shared constants over quota/);
    } finally {
      await grid.close();
    }
  });
});
