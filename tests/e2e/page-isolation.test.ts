// A Web Worker serves one client for its life: what a client's task does to
// its worker (patched prototypes and globals, an endless loop, closing it)
// never reaches another client's tasks on the same page.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, RemoteError } from '../../client-sdk/index.ts';
import { startTestGrid, fixture } from '../helpers/grid.ts';
import type * as Isolation from '../fixtures/isolation.ts';

test("client A's task patches Uint8Array.prototype.slice and a global; client B's tasks on the same 1-thread page are unaffected", { timeout: 120_000 }, async () => {
  const g = await startTestGrid({ pages: 1, threads: 1 });
  const b = await connect({ url: g.coordinator.url, token: g.coordinator.token });
  try {
    const a = await g.grid.module<typeof Isolation>(fixture('isolation.ts'));
    assert.equal(await g.grid.submit(a.tamper), 'tampered');
    // The patch is in place for A's own later tasks: the test tampers for real.
    const seen = await Promise.resolve(g.grid.submit(a.echo, 5)).catch((e: unknown) => e);
    assert.notEqual(seen, 5, "A's later small result comes back mangled by its own patch");
    const tasks = await b.module<typeof Isolation>(fixture('isolation.ts'));
    const xs = Array.from({ length: 50 }, (_, i) => i);
    assert.deepEqual(await b.map(tasks.echo, xs), xs);
    assert.deepEqual(await b.submit(tasks.probe), { global: false, slice: [1, 2, 3] });
  } finally {
    await b.close();
    await g.close();
  }
});

test('an endless loop with no timeout stops when its client leaves: the next client runs on that 1-thread page', { timeout: 120_000 }, async () => {
  const g = await startTestGrid({ pages: 1, threads: 1 });
  const a = await connect({ url: g.coordinator.url, token: g.coordinator.token });
  try {
    const looping = await a.module<typeof Isolation>(fixture('isolation.ts'));
    const spinning = a.submit(looping.spin);
    spinning.then(undefined, () => undefined);
    // Handed to the page's one Web Worker (not merely queued at the coordinator).
    await g.workers.pages[0].waitForFunction(() => (globalThis as unknown as { ladle: { status: { running: number } } }).ladle.status.running === 1);
    await a.close();
    const tasks = await g.grid.module<typeof Isolation>(fixture('isolation.ts'));
    assert.equal(await g.grid.submit(tasks.echo, 7), 7);
  } finally {
    await a.close();
    await g.close();
  }
});

test('a task that calls self.close() fails with a clear error and its Web Worker keeps running later tasks', { timeout: 120_000 }, async () => {
  const g = await startTestGrid({ pages: 1, threads: 1 });
  try {
    const tasks = await g.grid.module<typeof Isolation>(fixture('isolation.ts'));
    await assert.rejects(Promise.resolve(g.grid.submit(tasks.closeWorker)), (e: Error) => {
      assert.ok(e instanceof RemoteError);
      assert.match(e.message, /a task may not close its Web Worker \(self\.close\(\)\)/);
      return true;
    });
    const xs = Array.from({ length: 20 }, (_, i) => i);
    assert.deepEqual(await g.grid.map(tasks.echo, xs), xs);
  } finally {
    await g.close();
  }
});

test("a task that forges its page a spawn under another task (client B's, running beside it) is refused; one under itself runs", { timeout: 120_000 }, async () => {
  // A third Web Worker is free to run what the page accepts.
  const g = await startTestGrid({ pages: 1, threads: 3 });
  const b = await connect({ url: g.coordinator.url, token: g.coordinator.token });
  try {
    const bTasks = await b.module<typeof Isolation>(fixture('isolation.ts'));
    // B's task runs in the page's other Web Worker while A's forges: its grid id is just below A's.
    const held = b.submit(bTasks.sleepThen, 60_000, 1);
    held.then(undefined, () => undefined);
    await g.workers.pages[0].waitForFunction(() => (globalThis as unknown as { ladle: { status: { running: number } } }).ladle.status.running === 1);
    const a = await g.grid.module<typeof Isolation>(fixture('isolation.ts'));
    const offsets = [0, -1, -2, 1, 1000];
    const { own, outcomes } = await g.grid.submit(a.forgeSpawns, offsets);
    assert.equal(outcomes[own], 'ran', 'a spawn under the forging task itself is an ordinary subtask');
    for (const offset of offsets.filter((o) => o !== 0)) {
      assert.match(outcomes[own + offset] ?? 'no answer', /its parent is not a task this Web Worker runs/, `parent ${own + offset}`);
    }
    held.cancel();
  } finally {
    await b.close();
    await g.close();
  }
});
