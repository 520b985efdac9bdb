// SCOOP's futures API on a real grid: nested tasks, waiting, mapReduce,
// shared constants and PEP 3148 Future semantics, in real Chromium.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CancelledError, RemoteError, TimeoutError, connect, type Future } from '../../client-sdk/index.ts';
import { startTestGrid, fixture, type TestGrid } from '../helpers/grid.ts';
import { until } from '../helpers/futures.ts';
import type * as Scoop from '../fixtures/scoop.ts';

let g: TestGrid;
let tasks: Awaited<ReturnType<typeof loadTasks>>;
const loadTasks = () => g.grid.module<typeof Scoop>(fixture('scoop.ts'));

before(async () => {
  g = await startTestGrid({ pages: 1, threads: 2 });
  tasks = await loadTasks();
});
after(async () => {
  await g?.close();
});

test("SCOOP's nested chain: func0(4) = 77, func3(20) = 2870, func0(20) = 76153 on one page with 2 threads", { timeout: 120_000 }, async () => {
  assert.equal(await g.grid.submit(tasks.func0, 4), 77);
  assert.equal(await g.grid.submit(tasks.func3, 20), 2870);
  assert.equal(await g.grid.submit(tasks.func0, 20), 76153);
});

test('recursive fib spawns thousands of subtasks without deadlock', { timeout: 120_000 }, async () => {
  assert.equal(await g.grid.submit(tasks.fib, 15), 610);
});

test('asCompleted over 30 submits yields every future; their results sum to 9455', async () => {
  const futures = Array.from({ length: 30 }, (_, i) => g.grid.submit(tasks.square, i + 1));
  let total = 0;
  const seen = new Set<Future<number>>();
  for await (const f of g.grid.asCompleted(futures)) {
    assert.equal(f.done(), true);
    seen.add(f);
    total += await f.result();
  }
  assert.equal(seen.size, 30);
  assert.equal(total, 9455);
});

test('asCompleted rejects with TimeoutError when futures are still pending', async () => {
  const slow = g.grid.submit(tasks.slowValue, 2000, 1);
  const it = g.grid.asCompleted([slow], { timeout: 100 })[Symbol.asyncIterator]();
  await assert.rejects(it.next(), TimeoutError);
  assert.equal(await slow, 1, 'the future itself keeps running');
});

test('wait on 1,000 futures: timeouts 0 and 100 ms partition them; ALL_COMPLETED gets all', { timeout: 60_000 }, async () => {
  const futures = Array.from({ length: 1000 }, (_, i) => g.grid.submit(tasks.square, i));
  for (const timeout of [0, 100]) {
    const { done, notDone } = await g.grid.wait(futures, { timeout });
    assert.equal(done.size + notDone.size, 1000);
    for (const f of done) assert.equal(f.done(), true);
  }
  const all = await g.grid.wait(futures);
  assert.equal(all.done.size, 1000);
  assert.equal(all.notDone.size, 0);
});

test('wait FIRST_COMPLETED and FIRST_EXCEPTION return early (SCOOP waits for all)', { timeout: 30_000 }, async () => {
  const slow = g.grid.submit(tasks.slowValue, 3000, 1);
  const quick = g.grid.submit(tasks.square, 3);
  const first = await g.grid.wait([slow, quick], { returnWhen: 'FIRST_COMPLETED' });
  assert.ok(first.done.has(quick));
  assert.ok(first.notDone.has(slow));
  const thrower = g.grid.submit(tasks.fail, 'first exception');
  const firstError = await g.grid.wait([slow, thrower], { returnWhen: 'FIRST_EXCEPTION' });
  assert.ok(firstError.done.has(thrower));
  assert.ok(firstError.notDone.has(slow), 'returned before the slow task finished');
  assert.ok((await thrower.exception()) instanceof RemoteError);
  assert.equal(await slow, 1);
});

test('mapReduce: squares of [10, 20, 30] reduce to 1400; one element; order kept; inside a task', async () => {
  assert.equal(await g.grid.mapReduce(tasks.square, tasks.add, [10, 20, 30]), 1400);
  assert.equal(await g.grid.mapReduce(tasks.square, tasks.add, [7]), 49);
  const words = 'the quick brown fox jumps over the lazy dog'.split(' ');
  const identity = g.grid.fn((s: string) => s);
  assert.equal(await g.grid.mapReduce(identity, tasks.concat, words), words.join(''));
  await assert.rejects(g.grid.mapReduce(tasks.square, tasks.add, []), TypeError);
  assert.equal(await g.grid.submit(tasks.sumOfSquares, 10), 385);
});

test('wait inside a task returns at the first completion', async () => {
  assert.equal(await g.grid.submit(tasks.firstOf, 4), 1);
});

test('shared constants: set once, read in tasks, a second set of a name is refused', async () => {
  await g.grid.shared.set({ factor: 3 });
  assert.deepEqual(await g.grid.map(tasks.scaled, [1, 2, 3]), [3, 6, 9]);
  await assert.rejects(g.grid.shared.set({ factor: 4 }), /set once; "factor" is already set/);
  assert.equal(g.grid.shared.get('factor'), 3);
});

test('shared constants are scoped to their client', async () => {
  const other = await connect({ url: g.coordinator.url, token: g.coordinator.token });
  try {
    const otherTasks = await other.module<typeof Scoop>(fixture('scoop.ts'));
    await other.shared.set({ factor: 5 }); // the same name, another client: no conflict
    const [mine, theirs] = await Promise.all([
      g.grid.map(tasks.scaled, [1, 2, 3, 4, 5, 6]),
      other.map(otherTasks.scaled, [1, 2, 3, 4, 5, 6]),
    ]);
    assert.deepEqual(mine, [3, 6, 9, 12, 15, 18]);
    assert.deepEqual(theirs, [5, 10, 15, 20, 25, 30]);
  } finally {
    await other.close();
  }
});

test('shared constants reach a page that joins later', { timeout: 60_000 }, async () => {
  const late = await g.workers.browser.newContext().then((c) => c.newPage());
  try {
    await late.goto(`${g.coordinator.url}/?threads=1`);
    await late.waitForFunction(() => (globalThis as { ladle?: { status: { state: string } } }).ladle?.status.state === 'connected');
    // Run enough tasks that the late page takes some.
    const ys = await g.grid.map(tasks.scaled, Array.from({ length: 300 }, (_, i) => i));
    assert.deepEqual(ys, Array.from({ length: 300 }, (_, i) => i * 3));
    const doneByLate = await late.evaluate(() => (globalThis as unknown as { ladle: { status: { tasksDone: number } } }).ladle.status.tasksDone);
    assert.ok(doneByLate > 0, 'the late page ran tasks that read the constant');
  } finally {
    await late.context().close();
  }
});

test('cancel: true while queued (CancelledError, done), false once running', { timeout: 30_000 }, async () => {
  const blockers = [g.grid.submit(tasks.slowValue, 1500, 1), g.grid.submit(tasks.slowValue, 1500, 2)];
  await until(() => blockers.every((f) => f.running()), 'both threads run');
  const queued = g.grid.submit(tasks.square, 5);
  assert.equal(queued.running(), false);
  assert.equal(queued.cancel(), true);
  assert.equal(queued.cancelled(), true);
  assert.equal(queued.done(), true);
  await assert.rejects(queued.result(), CancelledError);
  assert.equal(blockers[0].cancel(), false);
  assert.equal(blockers[0].cancelled(), false);
  assert.deepEqual(await Promise.all(blockers.map((f) => f.result())), [1, 2]);
  assert.equal(blockers[0].cancel(), false, 'done futures cannot be cancelled');
});

test('result({timeout}) rejects with TimeoutError and leaves the future running', async () => {
  const f = g.grid.submit(tasks.slowValue, 500, 42);
  await assert.rejects(f.result({ timeout: 50 }), TimeoutError);
  assert.equal(f.done(), false);
  assert.equal(await f, 42);
  let called = 0;
  f.addDoneCallback(() => called++);
  assert.equal(called, 1, 'a callback added after completion runs at once');
});

test('map takes async iterables and keeps at most inFlight tasks ahead', async () => {
  let pulled = 0;
  async function* numbers() {
    for (let i = 0; i < 200; i++) {
      pulled++;
      yield i;
    }
  }
  const seen: number[] = [];
  let pulledAtFirst = -1;
  for await (const y of g.grid.map(tasks.square, numbers(), { inFlight: 8 })) {
    if (pulledAtFirst < 0) pulledAtFirst = pulled;
    seen.push(y);
  }
  assert.ok(pulledAtFirst <= 9, `pulled ${pulledAtFirst} items before the first result`);
  assert.deepEqual(seen, Array.from({ length: 200 }, (_, i) => i * i));
});

test('mapAsCompleted yields every result, in completion order', async () => {
  const got: number[] = [];
  for await (const v of g.grid.mapAsCompleted(tasks.slowValue, [300, 10, 150], [3, 1, 2])) got.push(v);
  assert.deepEqual(got, [1, 2, 3]);
});

test('onProgress reports done counts up to the total', async () => {
  const calls: { done: number; total?: number }[] = [];
  await g.grid.map(tasks.square, Array.from({ length: 500 }, (_, i) => i), { onProgress: (p) => calls.push(p) });
  assert.ok(calls.length >= 1);
  const last = calls[calls.length - 1];
  assert.equal(last.done, 500);
  assert.equal(last.total, 500);
  for (let i = 1; i < calls.length; i++) assert.ok(calls[i].done >= calls[i - 1].done);
});

test('a task past its timeout rejects with TimeoutError; its worker is replaced and the page keeps serving', { timeout: 60_000 }, async () => {
  const hung = g.grid.submit(tasks.hang.with({ timeout: 300 }));
  await assert.rejects(hung.result(), (e: unknown) => e instanceof TimeoutError && /timeout of 300 ms/.test(e.message));
  assert.deepEqual(await g.grid.map(tasks.square, [1, 2, 3, 4, 5, 6]), [1, 4, 9, 16, 25, 36]);
  assert.equal(await g.grid.submit(tasks.func3, 5), 55, 'nested work still runs');
});

test('a failing parent cancels its unfinished children', { timeout: 30_000 }, async () => {
  // Subtasks run on their parent's page: count there, once the page is idle.
  const page = g.workers.pages[0];
  type Status = { ladle: { status: { tasksDone: number; tasksFailed: number; running: number; queued: number } } };
  const settled = () =>
    page.waitForFunction(() => {
      const s = (globalThis as unknown as Status).ladle.status;
      return s.running === 0 && s.queued === 0 ? { ran: s.tasksDone + s.tasksFailed } : false;
    });
  const ran = async () => ((await (await settled()).jsonValue()) as { ran: number }).ran;
  const before = await ran();
  const parent = g.grid.submit(tasks.failAfterSpawning, 50);
  const err = await parent.exception();
  assert.ok(err instanceof RemoteError && /parent failed on purpose/.test(err.message));
  const childrenRun = (await ran()) - before - 1;
  assert.ok(childrenRun > 0, 'some children ran before the parent failed');
  assert.ok(childrenRun < 50, `only ${childrenRun} of 50 children ran before the parent failed`);
});
