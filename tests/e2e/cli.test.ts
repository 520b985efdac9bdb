// The `ladle` command as a user runs it: separate processes, real sockets,
// real Chromium, and the SDK from this (separate) Node process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../../client-sdk/index.ts';
import { runLadle, statsUntil } from '../helpers/cli.ts';
import { fixture } from '../helpers/grid.ts';
import type * as Tasks from '../fixtures/tasks.ts';

async function withDataDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'ladle-cli-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('ladle coordinator + ladle workers serve a submit from the SDK', { timeout: 90_000 }, () =>
  withDataDir(async (dir) => {
    const coordinator = runLadle(['coordinator', '--host', '127.0.0.1', '--port', '0', '--token', 'cli-secret', '--data', dir]);
    try {
      const [, url] = await coordinator.waitFor(/^\s+(http:\/\/127\.0\.0\.1:\d+)$/m);
      await coordinator.waitFor(/LADLE_TOKEN=cli-secret/);
      const workers = runLadle(['workers', '--url', url, '--count', '2', '--threads', '1']);
      try {
        await workers.waitFor(/page 2 joined/);
        await statsUntil(url, (s) => s.workers === 2 && s.threads === 2);
        const grid = await connect({ url, token: 'cli-secret' });
        const tasks = await grid.module<typeof Tasks>(fixture('tasks.ts'));
        assert.equal(await grid.submit(tasks.square, 12), 144);
        assert.deepEqual(await grid.map(tasks.square, [1, 2, 3, 4]), [1, 4, 9, 16]);
        await grid.close();
      } finally {
        await workers.stop();
      }
      // Closing the pages removes them from the grid.
      await statsUntil(url, (s) => s.workers === 0 && s.threads === 0);
    } finally {
      await coordinator.stop();
    }
  }),
);

test('ladle coordinator prints a random token when none is given', { timeout: 30_000 }, () =>
  withDataDir(async (dir) => {
    const coordinator = runLadle(['coordinator', '--host', '127.0.0.1', '--port', '0', '--data', dir]);
    try {
      const [, url] = await coordinator.waitFor(/^\s+(http:\/\/127\.0\.0\.1:\d+)$/m);
      const [, token] = await coordinator.waitFor(/LADLE_TOKEN=(\S+)/);
      assert.ok(token.length >= 16);
      const grid = await connect({ url, token });
      await grid.close();
    } finally {
      await coordinator.stop();
    }
  }),
);

test('ladle start brings up a grid whose local page computes, with the threads and WebGPU asked for', { timeout: 90_000 }, () =>
  withDataDir(async (dir) => {
    const start = runLadle(['start', '--host', '127.0.0.1', '--port', '0', '--token', 'abc', '--data', dir, '--threads', '1', '--webgpu']);
    try {
      const [, url] = await start.waitFor(/^\s+(http:\/\/127\.0\.0\.1:\d+)$/m);
      await start.waitFor(/local headless worker page\(s\) joined/);
      const grid = await connect({ url, token: 'abc' });
      const tasks = await grid.module<typeof Tasks>(fixture('tasks.ts'));
      assert.equal(await grid.submit(tasks.square, 12), 144);
      await grid.close();
      const stats = await statsUntil({ url, adminToken: 'abc' }, (s) => s.completed >= 1);
      assert.equal(stats.workers, 1);
      assert.equal(stats.threads, 1);
      assert.ok(stats.perWorker[0].capabilities?.gpu, `the local page has a WebGPU adapter: ${JSON.stringify(stats.perWorker[0].capabilities)}`);
    } finally {
      await start.stop();
    }
    assert.equal(start.proc.signalCode ?? start.proc.exitCode, 0, 'SIGTERM shuts it down cleanly');
  }),
);

test('a port in use is a clear error naming the port', { timeout: 30_000 }, async () => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const port = (blocker.address() as { port: number }).port;
  try {
    const c = runLadle(['coordinator', '--host', '127.0.0.1', '--port', String(port)]);
    assert.equal(await c.exited, 2);
    assert.match(c.output(), new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use; pick another with --port`));
  } finally {
    blocker.close();
  }
});

test('bad flags get a usage message', { timeout: 30_000 }, async () => {
  // Side by side: each is a process start.
  const c = runLadle(['workers']);
  const d = runLadle(['frobnicate']);
  const v = runLadle(['coordinator', '--host', '127.0.0.1', '--port', '0', '--no-data', '--verify', 'sometimes']);
  const g = runLadle(['start', '--host', '127.0.0.1', '--port', '0', '--no-data', '--local-workers', '0', '--webgpu']);
  assert.deepEqual(await Promise.all([c.exited, d.exited, v.exited, g.exited]), [2, 2, 2, 2]);
  assert.match(g.output(), /--threads and --webgpu set up the local pages: leave them out with --local-workers 0/);
  assert.match(c.output(), /workers needs --url/);
  assert.match(d.output(), /unknown command "frobnicate"/);
  assert.match(v.output(), /--verify is 'adaptive', 'off', or how many distinct pages run each task, a whole number from 2 to 9; got "sometimes"/);
});
