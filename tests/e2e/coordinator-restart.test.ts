// Pages outlive their coordinator: a coordinator killed mid-map and started
// again on the same port gets the same (not reloaded) page back, and it runs
// new work. SIGTERM drains a coordinator: running tasks finish, nothing new
// starts, and clients are told why the connection closed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WebSocket } from 'ws';
import { connect, type Grid } from '../../client-sdk/index.ts';
import { launchWorkers } from '../../cli/workers.ts';
import { fixture, testBrowser } from '../helpers/grid.ts';
import { runLadle, statsUntil, type LadleProcess } from '../helpers/cli.ts';
import type * as Isolation from '../fixtures/isolation.ts';

type PageGlobals = { ladle: { status: { tasksDone: number; workers: number; running: number; state: string } }; kept?: boolean };

/** A durable coordinator keeps its state in `dir`; one in memory (--no-data) runs in `dir`, its bundles in dir/.ladle. */
async function coordinator(dir: string, port = 0, durable = true): Promise<{ proc: LadleProcess; url: string }> {
  const store = durable ? ['--data', dir] : ['--no-data'];
  const proc = runLadle(['coordinator', '--host', '127.0.0.1', '--port', String(port), '--token', 'restart-secret', ...store], { cwd: dir });
  // Starting builds the site with esbuild: slow on a loaded machine.
  const [, url] = await proc.waitFor(/^\s+(http:\/\/127\.0\.0\.1:\d+)$/m, 90_000);
  await proc.waitFor(/LADLE_TOKEN=restart-secret/);
  return { proc, url };
}

test('a coordinator killed mid-map and restarted on the same port: the same page, not reloaded, rejoins and runs a new map', { timeout: 180_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ladle-restart-'));
  const first = await coordinator(dir);
  const port = Number(new URL(first.url).port);
  const workers = await launchWorkers({ url: first.url, browser: await testBrowser(), count: 1, threads: 2 });
  let second: { proc: LadleProcess; url: string } | undefined;
  let old: Grid | undefined;
  try {
    const page = workers.pages[0];
    await page.evaluate(() => {
      (globalThis as unknown as PageGlobals).kept = true;
    });
    old = await connect({ url: first.url, token: 'restart-secret', grace: 1000 });
    const tasks = await old.module<typeof Isolation>(fixture('isolation.ts'));
    // Both Web Workers busy when the coordinator dies: the page replaces them while it is gone.
    const abandoned = old.map(tasks.sleepThen, Array(100).fill(300), Array.from({ length: 100 }, (_, i) => i));
    abandoned.then(undefined, () => undefined);
    await page.waitForFunction(() => (globalThis as unknown as PageGlobals).ladle.status.tasksDone >= 2);
    first.proc.proc.kill('SIGKILL');
    await first.proc.exited;
    await page.waitForFunction(() => (globalThis as unknown as PageGlobals).ladle.status.state !== 'connected');

    second = await coordinator(dir, port);
    await statsUntil(second.url, (s) => s.workers === 1 && s.threads === 2, 60_000);
    const grid = await connect({ url: second.url, token: 'restart-secret' });
    try {
      const fresh = await grid.module<typeof Isolation>(fixture('isolation.ts'));
      const xs = Array.from({ length: 500 }, (_, i) => i);
      assert.deepEqual(await grid.map(fresh.echo, xs), xs);
    } finally {
      await grid.close();
    }
    const after = await page.evaluate(() => {
      const g = globalThis as unknown as PageGlobals;
      return { kept: g.kept, workers: g.ladle.status.workers };
    });
    assert.deepEqual(after, { kept: true, workers: 2 }, 'the same page, with both its Web Workers');
  } finally {
    await old?.close().catch(() => undefined);
    await workers.close();
    first.proc.proc.kill('SIGKILL');
    await second?.proc.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('SIGTERM drains a coordinator in memory: the running task finishes, the queued one does not start, and the client is told why', { timeout: 120_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ladle-drain-'));
  const { proc, url } = await coordinator(dir, 0, false);
  const workers = await launchWorkers({ url, browser: await testBrowser(), count: 1, threads: 1 });
  let grid: Grid | undefined;
  try {
    grid = await connect({ url, token: 'restart-secret', grace: 1000 });
    const tasks = await grid.module<typeof Isolation>(fixture('isolation.ts'));
    const running = grid.submit(tasks.sleepThen, 3000, 42);
    const queued = grid.submit(tasks.echo, 7);
    await workers.pages[0].waitForFunction(() => (globalThis as unknown as PageGlobals).ladle.status.running === 1);
    // And the coordinator has heard that it started (the page says so within a
    // few ms): a drain gives back what it holds as not started.
    await statsUntil(url, (s) => s.running - s.prefetched >= 1);
    // The SDK's socket, to read the close frame the coordinator sends.
    const socket = (grid as unknown as { channel: { socket: WebSocket } }).channel.socket;
    const closed = once(socket, 'close') as Promise<[number, Buffer]>;
    proc.proc.kill('SIGTERM');
    assert.equal(await running, 42);
    const [code, reason] = await closed;
    assert.equal(code, 1001);
    assert.match(reason.toString(), /coordinator shutting down: running tasks have finished; tasks not yet started were not run/);
    await assert.rejects(Promise.resolve(queued), { name: 'ConnectionError', code: 'ERR_CONNECTION', message: /the coordinator shut down \(coordinator shutting down: .*tasks not yet started were not run\)/ });
    assert.equal(await proc.exited, 0);
    assert.match(proc.output(), /shutting down: running tasks may finish/);
  } finally {
    await grid?.close().catch(() => undefined);
    await workers.close();
    await proc.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
