// Scheduling and fault tolerance in real Chromium: a killed browser, a slow
// page next to a fast one, a frozen page, a crashing task, a dropped SDK
// connection. Every result arrives, once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect as netConnect, type Socket } from 'node:net';
import type { Page } from 'playwright-core';
import { connect, TaskLostError } from '../../client-sdk/index.ts';
import { launchWorkers } from '../../cli/workers.ts';
import { startTestGrid, fixture } from '../helpers/grid.ts';
import { statsUntil } from '../helpers/cli.ts';
import { allPids, browserPid, rendererPids, slowDown } from '../helpers/processes.ts';
import type * as Faults from '../fixtures/faults.ts';

type Status = { ladle: { status: { tasksDone: number; state: string } } };
const tasksDone = (page: Page) => page.evaluate(() => (globalThis as unknown as Status).ladle.status.tasksDone);

test('a browser killed mid-map: all 120 results correct, each once, and workers drops to 1', { timeout: 120_000 }, async () => {
  const g = await startTestGrid({ pages: 1, threads: 2 });
  const second = await launchWorkers({ url: g.coordinator.url, count: 1, threads: 2 });
  try {
    await statsUntil(g.coordinator.url, (s) => s.workers === 2);
    const tasks = await g.grid.module<typeof Faults>(fixture('faults.ts'));
    const results = g.grid.map(tasks.sleepThen, Array(120).fill(40), Array.from({ length: 120 }, (_, i) => i));
    await second.pages[0].waitForFunction(() => (globalThis as unknown as Status).ladle.status.tasksDone >= 5);
    // SIGKILL, as a crash or `kill -9` would.
    process.kill(await browserPid(second.browser), 'SIGKILL');
    assert.deepEqual(await results, Array.from({ length: 120 }, (_, i) => i));
    const stats = await statsUntil(g.coordinator.url, (s) => s.workers === 1);
    assert.equal(stats.completed, 120, 'each task completed exactly once');
    assert.equal(stats.failed, 0);
  } finally {
    await second.close().catch(() => undefined);
    await g.close();
  }
});

test('a page slowed to an eighth of the speed gets a fair share: the fast page does at least 2x the tasks', { timeout: 120_000 }, async (t) => {
  const g = await startTestGrid({ pages: 1, threads: 1 });
  const slow = await launchWorkers({ url: g.coordinator.url, count: 1, threads: 1 });
  try {
    await statsUntil(g.coordinator.url, (s) => s.workers === 2);
    const tasks = await g.grid.module<typeof Faults>(fixture('faults.ts'));
    const n = 160;
    const units = 12; // ~20 ms of computation each
    // The slow page's whole browser gets an eighth of the time: a slow
    // machine. (At a quarter, a loaded 2-core machine that also slows the
    // "fast" page brought the real ratio down to about 2.2.)
    const restore = await slowDown(await allPids(slow.browser), 0.125);
    const started = performance.now();
    let ys: number[];
    try {
      ys = await g.grid.map(tasks.work, Array(n).fill(units), Array.from({ length: n }, (_, i) => i));
    } finally {
      restore();
    }
    const makespan = performance.now() - started;
    assert.deepEqual(ys, Array.from({ length: n }, (_, i) => i));
    const fast = await tasksDone(g.workers.pages[0]);
    const slowDone = await tasksDone(slow.pages[0]);
    // Ideal: the work split in proportion to speed (1 + 0.125). Reported, not asserted: timing lives in the benchmark.
    t.diagnostic(`fast page ${fast} tasks, slow page ${slowDone}; makespan ${makespan.toFixed(0)} ms, ideal ~${((n * units * 1.6) / 1.125).toFixed(0)} ms`);
    assert.ok(fast >= 2 * slowDone, `fast ${fast} vs slow ${slowDone}`);
    assert.ok(fast + slowDone >= n, 'every task ran (backups may add copies)');
  } finally {
    await slow.close();
    await g.close();
  }
});

test('a frozen page is dropped after the heartbeat deadline and its tasks run elsewhere', { timeout: 60_000 }, async () => {
  const g = await startTestGrid({ pages: 1, threads: 1, coordinator: { heartbeatMs: 200, deadlineMs: 1500 } });
  const frozen = await launchWorkers({ url: g.coordinator.url, count: 1, threads: 1 });
  try {
    await statsUntil(g.coordinator.url, (s) => s.workers === 2);
    const tasks = await g.grid.module<typeof Faults>(fixture('faults.ts'));
    const results = g.grid.map(tasks.sleepThen, Array(40).fill(30), Array.from({ length: 40 }, (_, i) => i));
    await frozen.pages[0].waitForFunction(() => (globalThis as unknown as Status).ladle.status.tasksDone >= 2);
    // SIGSTOP its renderer: the page hangs, as a shut laptop lid leaves it.
    const pids = await rendererPids(frozen.browser);
    for (const pid of pids) process.kill(pid, 'SIGSTOP');
    try {
      assert.deepEqual(await results, Array.from({ length: 40 }, (_, i) => i));
      const stats = await statsUntil(g.coordinator.url, (s) => s.workers === 1);
      assert.equal(stats.completed, 40);
    } finally {
      for (const pid of pids) process.kill(pid, 'SIGCONT');
    }
  } finally {
    await frozen.close();
    await g.close();
  }
});

test('a task that crashes its page fails after 3 attempts with TaskLostError; the grid keeps serving', { timeout: 90_000 }, async () => {
  // A small V8 heap makes the out-of-memory crash quick.
  const g = await startTestGrid({ pages: 1, threads: 1, browserArgs: ['--js-flags=--max-old-space-size=128'] });
  try {
    const tasks = await g.grid.module<typeof Faults>(fixture('faults.ts'));
    const err = await g.grid.submit(tasks.exhaustMemory).exception();
    assert.ok(err instanceof TaskLostError, `got ${String(err)}`);
    assert.match(err.message, /lost 3 times/);
    // `ladle workers` reopens the crashed page each time.
    await statsUntil(g.coordinator.url, (s) => s.workers === 1 && g.workers.relaunched >= 3);
    assert.deepEqual(await g.grid.map(tasks.sleepThen, [1, 1, 1], [7, 8, 9]), [7, 8, 9]);
    const stats = await statsUntil(g.coordinator.url, (s) => s.failed === 1);
    assert.equal(stats.completed, 3);
  } finally {
    await g.close();
  }
});

test("the SDK's connection cut mid-map: it reconnects, resumes, and the map resolves correctly", { timeout: 90_000 }, async () => {
  const g = await startTestGrid({ pages: 1, threads: 2 });
  // A TCP proxy in front of the coordinator, so the test can cut the SDK's
  // socket the way a network does: no closing handshake.
  const target = new URL(g.coordinator.url);
  const sockets = new Set<Socket>();
  const proxy = createServer((inbound) => {
    const outbound = netConnect(Number(target.port), target.hostname);
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const proxyUrl = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
  const sdk = await connect({ url: proxyUrl, token: g.coordinator.token });
  try {
    const tasks = await sdk.module<typeof Faults>(fixture('faults.ts'));
    const n = 300;
    let cuts = 0;
    const ys: number[] = [];
    for await (const y of sdk.map(tasks.sleepThen, Array(n).fill(5), Array.from({ length: n }, (_, i) => i))) {
      ys.push(y);
      if (ys.length === 50 || ys.length === 200) {
        cuts++;
        for (const s of sockets) s.destroy();
      }
    }
    assert.equal(cuts, 2);
    assert.deepEqual(ys, Array.from({ length: n }, (_, i) => i));
    const stats = await statsUntil(g.coordinator.url, (s) => s.queued === 0 && s.running === 0);
    assert.equal(stats.completed, n, 'nothing ran twice');
    assert.equal(stats.clients, 2, 'the session was resumed, not replaced');
  } finally {
    await sdk.close();
    proxy.close();
    await g.close();
  }
});
