// Future states of synchronous tasks, map's chunkSize, and the failing
// input's index, on a real grid: real coordinator, real Chromium page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { RemoteError } from '../../client-sdk/index.ts';
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

test('a synchronous task shows running() while it runs; cancel() is then false and the value still comes', { timeout: 60_000 }, async () => {
  // Both Web Workers load the module first: a task that waits for its
  // module to load would let the worker report it before it runs.
  await Promise.all([g.grid.submit(tasks.spin, 300), g.grid.submit(tasks.spin, 300)]);
  const f = g.grid.submit(tasks.spin, 1500);
  await until(() => f.running() || f.done(), 'the task runs');
  assert.equal(f.running(), true, 'running before its result arrived');
  assert.equal(f.done(), false);
  assert.equal(f.cancel(), false, 'a running task cannot be cancelled');
  assert.equal(f.cancelled(), false);
  assert.equal(f.running(), true);
  const spins = await f.result();
  assert.ok(typeof spins === 'number' && spins > 0, 'the future resolves with the task value');
  assert.equal(f.state, 'finished');
});

test('map with chunkSize gives the same results as without, in input order', { timeout: 60_000 }, async () => {
  const xs = Array.from({ length: 103 }, (_, i) => i);
  const bad = xs.map(() => -1);
  const plain = await g.grid.map(tasks.squareUnless, xs, bad);
  const chunked = await g.grid.map(tasks.squareUnless, xs, bad, { chunkSize: 10 });
  assert.deepEqual(chunked, plain);
  assert.deepEqual(chunked, xs.map((x) => x * x));
  const completed: number[] = [];
  for await (const y of g.grid.mapAsCompleted(tasks.squareUnless, xs, bad, { chunkSize: 7, inFlight: 20 })) completed.push(y);
  assert.deepEqual(completed.sort((a, b) => a - b), plain);
  assert.equal(await g.grid.mapReduce(tasks.square, tasks.add, xs, { chunkSize: 16 }), xs.reduce((s, x) => s + x * x, 0));
});

test('a throwing call in a chunk fails alone: the map rejects with its index, its chunk-mates succeed', { timeout: 60_000 }, async () => {
  const xs = Array.from({ length: 40 }, (_, i) => i);
  await assert.rejects(Promise.resolve(g.grid.map(tasks.squareUnless, xs, xs.map(() => 13), { chunkSize: 8 })), (e: unknown) => {
    assert.ok(e instanceof RemoteError);
    assert.equal((e as { index?: number }).index, 13);
    assert.match(e.message, /^map input 13 failed: RangeError: input 13 is refused$/);
    return true;
  });
  // Its chunk is inputs 8..15: the others in it come back as values.
  const it = g.grid.map(tasks.squareUnless, xs, xs.map(() => 13), { chunkSize: 8 })[Symbol.asyncIterator]();
  for (let i = 0; i < 13; i++) assert.deepEqual(await it.next(), { done: false, value: i * i });
  await assert.rejects(it.next(), (e: unknown) => (e as { index?: number }).index === 13);
  assert.equal(await g.grid.submit(tasks.chunkedInside, 30, 17), 16, 'a chunked map inside a task names the index too');
});

test('a map over 100 inputs with one throwing input rejects with error.index of that input', { timeout: 60_000 }, async () => {
  const xs = Array.from({ length: 100 }, (_, i) => i);
  await assert.rejects(Promise.resolve(g.grid.map(tasks.squareUnless, xs, xs.map(() => 58))), (e: unknown) => {
    assert.ok(e instanceof RemoteError);
    assert.equal((e as { index?: number }).index, 58);
    assert.match(e.message, /map input 58 failed/);
    return true;
  });
});

test('map without chunkSize: once a function is timed quick, its calls travel several to a task, with the same results, indexes and progress', { timeout: 60_000 }, async () => {
  const tasksRun = () => {
    const s = g.coordinator.hub.stats();
    return s.completed + s.failed;
  };
  // The test before ends on a failed map whose other tasks may still run: count from an idle grid.
  await until(() => {
    const s = g.coordinator.hub.stats();
    return s.queued + s.running === 0;
  }, 'the grid is idle');
  const xs = Array.from({ length: 300 }, (_, i) => i);
  const none = xs.map(() => -1);
  const words = xs.map((x) => `w${x}`);
  const joined = words.map((w) => `${w}!`);
  // The first map of a function (concat is new to this grid) goes one task
  // per call: nothing is known of it yet.
  let before = tasksRun();
  assert.deepEqual(await g.grid.map(tasks.concat, words, xs.map(() => '!')), joined);
  assert.equal(tasksRun() - before, 300);

  before = tasksRun();
  let last = 0;
  assert.deepEqual(await g.grid.map(tasks.concat, words, xs.map(() => '!'), { onProgress: (p) => (last = p.done) }), joined);
  const chunks = tasksRun() - before;
  // Several calls a task, on average: how many depends on how quick the
  // calls were timed (about 10 tasks on a quiet machine, 75 seen under heavy
  // load, where preempted calls read slow).
  assert.ok(chunks <= 150, `300 quick calls took ${chunks} tasks`);
  assert.equal(last, 300, 'progress counts calls');

  await g.grid.map(tasks.squareUnless, xs, none); // timed now, if no test before did
  before = tasksRun();
  await assert.rejects(Promise.resolve(g.grid.map(tasks.squareUnless, xs, xs.map(() => 137))), (e: unknown) => {
    assert.ok(e instanceof RemoteError);
    assert.equal((e as { index?: number }).index, 137);
    assert.match(e.message, /^map input 137 failed: RangeError: input 137 is refused$/);
    assert.match(e.remoteStack ?? '', /scoop\.ts/, 'the stack names the source, as for a task of one call');
    return true;
  });
  assert.ok(tasksRun() - before <= 150, 'the failing call travelled in a chunk');
  // The failed map's other chunks may still be running: let them end before counting again.
  await until(() => {
    const s = g.coordinator.hub.stats();
    return s.queued + s.running === 0;
  }, 'the failed map has no task left');
  // Handles with a timeout keep one task per call: a chunk's timeout would cover all its calls.
  before = tasksRun();
  await g.grid.map(tasks.squareUnless.with({ timeout: 10_000 }), xs.slice(0, 50), none);
  assert.equal(tasksRun() - before, 50);
});
