// A client whose process exits or crashes stops costing the grid within
// seconds; a client whose network is cut keeps its session for its grace.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, connect as netConnect, type Socket } from 'node:net';
import { startTestGrid, fixture, type TestGrid } from '../helpers/grid.ts';
import { statsUntil } from '../helpers/cli.ts';
import { connect, ErrorCode, type LadleError, type ModuleHandles } from '../../client-sdk/index.ts';
import type * as Room from '../fixtures/room.ts';

let g: TestGrid;
before(async () => {
  // Silence is noticed after 3 s; a socket closed without a handshake ends
  // its session at once here (5 s by default), so a wrong call would show.
  g = await startTestGrid({ pages: 1, threads: 2, coordinator: { heartbeatMs: 250, deadlineMs: 3000, abandonedGraceMs: 1 } });
});
after(() => g.close());

const admin = () => ({ url: g.coordinator.url, adminToken: g.coordinator.adminToken });
type Status = { ladle: { status: { running: number; queued: number } } };

for (const signal of ['SIGKILL', 'SIGINT'] as const) {
  test(`a client process ended by ${signal} has its queued and running tasks stopped`, { timeout: 60_000 }, async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture('abandoning-client.ts').pathname], {
      env: { ...process.env, LADLE_URL: g.coordinator.url, LADLE_TOKEN: g.coordinator.token },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await once(child.stdout, 'data');
      // Its tasks run on the page: both threads busy, the rest queued.
      await statsUntil(admin(), (s) => s.running >= 2 && s.queued > 0 && s.jobs.some((j) => j.name === 'abandoned' && j.active));
      await g.workers.pages[0].waitForFunction(() => (globalThis as unknown as Status).ladle.status.running > 0);
      child.kill(signal);
      await once(child, 'exit');
      const s = await statsUntil(admin(), (x) => x.queued === 0 && x.running === 0 && x.clients === 1);
      const job = s.jobs.find((j) => j.name === 'abandoned' && !j.active);
      assert.ok(job, 'its job ended');
      assert.ok(job.cancelled > 50, `its unfinished tasks were cancelled (${job.cancelled} of 100)`);
      // The page stopped running them (their Web Workers were replaced).
      await g.workers.pages[0].waitForFunction(() => (globalThis as unknown as Status).ladle.status.running === 0 && (globalThis as unknown as Status).ladle.status.queued === 0);
    } finally {
      child.kill('SIGKILL');
    }
  });
}

test('a client whose network is cut (silence, no close) keeps its session and resumes', { timeout: 60_000 }, async () => {
  // A TCP proxy that can stop carrying bytes while both sockets stay open.
  const target = new URL(g.coordinator.url);
  const pairs: { inbound: Socket; outbound: Socket }[] = [];
  const proxy = createServer((inbound) => {
    const outbound = netConnect(Number(target.port), target.hostname);
    for (const s of [inbound, outbound]) s.on('error', () => undefined);
    inbound.pipe(outbound).pipe(inbound);
    pairs.push({ inbound, outbound });
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const sdk = await connect({ url: `http://127.0.0.1:${(proxy.address() as { port: number }).port}`, token: g.coordinator.token });
  try {
    const t: ModuleHandles<typeof Room> = await sdk.module<typeof Room>(fixture('room.ts'));
    const n = 20;
    const ys: number[] = [];
    let cut: Promise<unknown> | undefined;
    for await (const y of sdk.map(t.spin, Array(n).fill(50), Array.from({ length: n }, (_, i) => i))) {
      ys.push(y);
      if (ys.length === 5) {
        // The cut: nothing flows either way, nothing closes.
        // The SDK's WebSocket is its first connection (uploads come after).
        const { inbound, outbound } = pairs[0];
        inbound.unpipe(outbound);
        outbound.unpipe(inbound);
        // Bytes still arriving are lost on the way (and a socket read to the end can see its close).
        inbound.resume();
        outbound.resume();
        // The coordinator notices the silence and closes its side...
        cut = once(outbound, 'close').then(() => inbound.destroy()); // ...and the network comes back: the SDK reconnects.
      }
    }
    assert.ok(cut);
    await cut;
    assert.deepEqual(ys, Array.from({ length: n }, (_, i) => i), 'every result, in order, after the resume');
    const s = await statsUntil(admin(), (x) => x.queued === 0 && x.running === 0);
    assert.equal(s.clients, 2, 'the session was resumed, not replaced');
  } finally {
    await sdk.close();
    proxy.close();
    for (const { inbound, outbound } of pairs) {
      inbound.destroy();
      outbound.destroy();
    }
  }
});

test('grace is capped at 15 minutes with a clear error', async () => {
  await assert.rejects(
    connect({ url: g.coordinator.url, token: g.coordinator.token, grace: 15 * 60 * 1000 + 1 }),
    (e: LadleError) => e.code === ErrorCode.INVALID_OPTION && /grace.*15 minutes/.test(e.message),
  );
});
