// The core grid end to end: SDK -> coordinator -> Chromium Web Workers -> back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, RemoteError, ConnectionError, TimeoutError } from '../../client-sdk/index.ts';
import { startTestGrid, fixture, type TestGrid } from '../helpers/grid.ts';
import { until } from '../helpers/futures.ts';
import type * as Tasks from '../fixtures/tasks.ts';

let g: TestGrid;
before(async () => {
  g = await startTestGrid({ pages: 1, threads: 2 });
});
after(async () => {
  await g?.close();
});

test('submit runs a task in a browser and resolves its future', async () => {
  const tasks = await g.grid.module<typeof Tasks>(fixture('tasks.ts'));
  const f = g.grid.submit(tasks.square, 12);
  assert.equal(await f, 144);
  assert.equal(f.done(), true);
  assert.equal(await f.result({ timeout: 1000 }), 144);
  assert.equal(await f.exception(), undefined);
});

test('a map of 1,000 items returns every result in input order', async () => {
  const tasks = await g.grid.module<typeof Tasks>(fixture('tasks.ts'));
  const xs = Array.from({ length: 1000 }, (_, i) => i);
  const ys = await g.grid.map(tasks.square, xs);
  assert.deepEqual(ys, xs.map((x) => x * x));
});

test('map streams in input order with for-await and zips several iterables', async () => {
  const tasks = await g.grid.module<typeof Tasks>(fixture('tasks.ts'));
  const seen: number[] = [];
  function* tens() {
    for (let i = 0; i < 50; i++) yield i * 10;
  }
  for await (const y of g.grid.map(tasks.add, [1, 2, 3, 4, 5, 6, 7], tens())) seen.push(y);
  assert.deepEqual(seen, [1, 12, 23, 34, 45, 56, 67]);
});

test('typed arrays, Map, Date and BigInt survive the round trip', async () => {
  const tasks = await g.grid.module<typeof Tasks>(fixture('tasks.ts'));
  const values = Float64Array.from({ length: 10_000 }, (_, i) => i / 3);
  const scaled = await g.grid.submit(tasks.scaleTyped, values, 2);
  assert.ok(scaled instanceof Float64Array);
  assert.equal(scaled.length, values.length);
  assert.equal(scaled[9999], (9999 / 3) * 2);
  const rich = { m: new Map([['k', 1n << 70n]]), d: new Date(86_400_000), s: new Set([1, 2]), u8: new Uint8Array([1, 2, 3]) };
  assert.deepEqual(await g.grid.submit(tasks.describe, rich), rich);
});

test('an inline function runs on the grid', async () => {
  const inc = g.grid.fn((x: number) => x + 1);
  assert.equal(await g.grid.submit(inc, 41), 42);
  assert.deepEqual(await g.grid.map(inc, [1, 2, 3]), [2, 3, 4]);
});

test("an inline function's errors name it: by its own name when it has one, else `inline`", async () => {
  assert.equal(g.grid.fn((x: number) => x).name, 'inline');
  // A loop that only its timeout ends: the message names the function.
  const spin = (ms: number) => {
    const end = Date.now() + ms;
    while (Date.now() < end);
  };
  const handle = g.grid.fn(spin);
  assert.equal(handle.name, 'spin');
  assert.throws(() => handle.with({ timout: 200 } as never), { code: 'ERR_INVALID_OPTION', message: /"timout" is not a task option \(did you mean timeout\?\)/ });
  const err = await g.grid.submit(handle.with({ timeout: 200, attempts: 1 }), 60_000).exception();
  assert.ok(err instanceof TimeoutError, `got ${String(err)}`);
  assert.match(err.message, /task spin ran past its timeout of 200 ms/);
  // It may call itself by that name.
  const fact = (n: number): number => (n < 2 ? 1 : n * fact(n - 1));
  assert.equal(await g.grid.submit(g.grid.fn(fact), 10), 3_628_800);
});

test('a task that throws rejects with RemoteError carrying the remote name, message and stack', async () => {
  const tasks = await g.grid.module<typeof Tasks>(fixture('tasks.ts'));
  const f = g.grid.submit(tasks.fail, 'out of range');
  const err = await f.exception();
  assert.ok(err instanceof RemoteError);
  assert.equal(err.remoteName, 'RangeError');
  assert.equal(err.remoteMessage, 'out of range');
  assert.match(err.remoteStack ?? '', /fail/);
  await assert.rejects(g.grid.submit(tasks.fail, 'again').result(), (e: unknown) => e instanceof RemoteError && e.remoteMessage === 'again');
  // The page keeps serving after a task threw.
  assert.equal(await g.grid.submit(tasks.square, 3), 9);
});

test('a wrong token is refused with a clear error, not left to time out', async () => {
  // A connect timeout longer than the test's own: only the refusal can end this.
  await assert.rejects(connect({ url: g.coordinator.url, token: 'not-the-token', connectTimeout: 600_000 }), (e: unknown) => {
    return e instanceof ConnectionError && /refused the token/.test(e.message);
  });
  await assert.rejects(connect({ url: g.coordinator.url, token: '' }), ConnectionError);
});

test('an unreachable coordinator is a clear error, not a hang', async () => {
  // Port 9 (discard) on loopback: nothing listens there in the test machine.
  await assert.rejects(connect({ url: 'http://127.0.0.1:9', token: 'x', connectTimeout: 5000 }), (e: unknown) => {
    return e instanceof ConnectionError && /cannot reach the coordinator/.test(e.message);
  });
});

test('a bundle is fetched once, then served from IndexedDB after a page reload', async () => {
  const page = g.workers.pages[0];
  const bundleRequests: string[] = [];
  page.on('request', (r) => {
    if (new URL(r.url()).pathname.startsWith('/bundles/')) bundleRequests.push(r.url());
  });
  // A module no other test used, so this page has never seen its bundle.
  const fresh = g.grid.fn((s: string) => `cached:${s}`);
  assert.equal(await g.grid.submit(fresh, 'a'), 'cached:a');
  // Playwright's request event can reach this process after the task's result does.
  await until(() => bundleRequests.length > 0, 'the page fetched the bundle');
  assert.equal(bundleRequests.length, 1);
  const before = await page.evaluate(() => (globalThis as unknown as { ladle: { bundles: { fetched: number } } }).ladle.bundles);
  assert.ok(before.fetched >= 1);

  await page.reload();
  await page.waitForFunction(() => (globalThis as { ladle?: { status: { state: string } } }).ladle?.status.state === 'connected');
  assert.equal(await g.grid.submit(fresh, 'b'), 'cached:b');
  assert.equal(bundleRequests.length, 1, 'no second HTTP fetch of the bundle');
  const after = await page.evaluate(() => (globalThis as unknown as { ladle: { bundles: { fetched: number; fromCache: number } } }).ladle.bundles);
  assert.deepEqual(after, { fetched: 0, fromCache: 1 });
});

test('/api/stats counts pages, threads and tasks', async () => {
  const res = await fetch(`${g.coordinator.url}/api/stats`);
  const stats = (await res.json()) as Record<string, number>;
  assert.equal(stats.workers, 1);
  assert.equal(stats.threads, 2);
  assert.ok(stats.completed >= 1000);
  assert.ok(stats.failed >= 2);
  assert.equal(stats.queued, 0);
  assert.equal(stats.running, 0);
});
