// Local mode: connect({ url: 'local' }) runs the same task modules in Node
// worker threads, in process, with the grid's API and semantics. These are
// the assertions of core.test.ts and futures.test.ts, with no browser and no
// coordinator.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CancelledError, ConnectionError, LadleError, RemoteError, TaskLostError, TimeoutError, connect, type Future, type Grid } from '../../client-sdk/index.ts';
import { submit as submitFromTask } from '../../browser-worker/task-api.ts';
import { fixture } from '../helpers/grid.ts';
import { until } from '../helpers/futures.ts';
import { LocalEngine } from '../../client-sdk/local/engine.ts';
import type * as Scoop from '../fixtures/scoop.ts';
import type * as Tasks from '../fixtures/tasks.ts';
import type * as Local from '../fixtures/local.ts';

let grid: Grid;
let scoop: Awaited<ReturnType<typeof loadScoop>>;
let tasks: Awaited<ReturnType<typeof loadTasks>>;
let local: Awaited<ReturnType<typeof loadLocal>>;
const loadScoop = () => grid.module<typeof Scoop>(fixture('scoop.ts'));
const loadTasks = () => grid.module<typeof Tasks>(fixture('tasks.ts'));
const loadLocal = () => grid.module<typeof Local>(fixture('local.ts'));

before(async () => {
  grid = await connect({ url: 'local', threads: 2 });
  scoop = await loadScoop();
  tasks = await loadTasks();
  local = await loadLocal();
});
after(async () => {
  await grid?.close();
});

test('submit runs a task in a worker thread and resolves its future; the client id is "local"', async () => {
  const f = grid.submit(tasks.square, 12);
  assert.equal(await f, 144);
  assert.equal(f.done(), true);
  assert.equal(await f.result({ timeout: 1000 }), 144);
  assert.equal(await f.exception(), undefined);
  assert.equal(grid.clientId, 'local');
});

test('map returns 1,000 results in input order and zips several iterables', async () => {
  const xs = Array.from({ length: 1000 }, (_, i) => i);
  assert.deepEqual(await grid.map(tasks.square, xs), xs.map((x) => x * x));
  function* tens() {
    for (let i = 0; i < 50; i++) yield i * 10;
  }
  const seen: number[] = [];
  for await (const y of grid.map(tasks.add, [1, 2, 3, 4, 5, 6, 7], tens())) seen.push(y);
  assert.deepEqual(seen, [1, 12, 23, 34, 45, 56, 67]);
});

test('typed arrays, Map, Date and BigInt survive the round trip', async () => {
  const values = Float64Array.from({ length: 10_000 }, (_, i) => i / 3);
  const scaled = await grid.submit(tasks.scaleTyped, values, 2);
  assert.ok(scaled instanceof Float64Array);
  assert.equal(scaled[9999], (9999 / 3) * 2);
  const rich = { m: new Map([['k', 1n << 70n]]), d: new Date(86_400_000), s: new Set([1, 2]), u8: new Uint8Array([1, 2, 3]) };
  assert.deepEqual(await grid.submit(tasks.describe, rich), rich);
});

test('mapAsCompleted yields every result, in completion order', async () => {
  const got: number[] = [];
  for await (const v of grid.mapAsCompleted(scoop.slowValue, [300, 10, 150], [3, 1, 2])) got.push(v);
  assert.deepEqual(got, [1, 2, 3]);
});

test('asCompleted over 30 submits yields every future; a pending one past the timeout is a TimeoutError', async () => {
  const futures = Array.from({ length: 30 }, (_, i) => grid.submit(tasks.square, i + 1));
  let total = 0;
  const seen = new Set<Future<number>>();
  for await (const f of grid.asCompleted(futures)) {
    assert.equal(f.done(), true);
    seen.add(f);
    total += await f.result();
  }
  assert.equal(seen.size, 30);
  assert.equal(total, 9455);
  const slow = grid.submit(scoop.slowValue, 1000, 1);
  const it = grid.asCompleted([slow], { timeout: 50 })[Symbol.asyncIterator]();
  await assert.rejects(it.next(), TimeoutError);
  assert.equal(await slow, 1, 'the future itself keeps running');
});

test('wait FIRST_COMPLETED and FIRST_EXCEPTION return early', async () => {
  // The slow task runs until the test lets it finish, however loaded the machine.
  const dir = await mkdtemp(join(tmpdir(), 'ladle-local-'));
  const slow = grid.submit(local.valueOnceFileExists, join(dir, 'go'), 1);
  const quick = grid.submit(tasks.square, 3);
  const first = await grid.wait([slow, quick], { returnWhen: 'FIRST_COMPLETED' });
  assert.ok(first.done.has(quick));
  assert.ok(first.notDone.has(slow));
  const thrower = grid.submit(scoop.fail, 'first exception');
  const firstError = await grid.wait([slow, thrower], { returnWhen: 'FIRST_EXCEPTION' });
  assert.ok(firstError.done.has(thrower));
  assert.ok(firstError.notDone.has(slow), 'returned before the slow task finished');
  assert.ok((await thrower.exception()) instanceof RemoteError);
  assert.ok(!slow.done());
  await writeFile(join(dir, 'go'), '');
  assert.equal(await slow, 1);
  await rm(dir, { recursive: true });
});

test('mapReduce: on the client, with an inline mapper, and inside a task', async () => {
  assert.equal(await grid.mapReduce(scoop.square, scoop.add, [10, 20, 30]), 1400);
  assert.equal(await grid.mapReduce(scoop.square, scoop.add, [7]), 49);
  const words = 'the quick brown fox jumps over the lazy dog'.split(' ');
  const identity = grid.fn((s: string) => s);
  assert.equal(await grid.mapReduce(identity, scoop.concat, words), words.join(''));
  await assert.rejects(grid.mapReduce(scoop.square, scoop.add, []), TypeError);
  assert.equal(await grid.submit(scoop.sumOfSquares, 10), 385);
});

test("nested tasks: SCOOP's chain, wait inside a task, and fib(15) thousands of subtasks deep on 2 threads", { timeout: 120_000 }, async () => {
  assert.equal(await grid.submit(scoop.func0, 4), 77);
  assert.equal(await grid.submit(scoop.func3, 20), 2870);
  assert.equal(await grid.submit(scoop.firstOf, 4), 1);
  assert.equal(await grid.submit(scoop.fib, 15), 610);
});

test('shared constants: set once, read in tasks, a second set of a name is refused', async () => {
  await grid.shared.set({ factor: 3 });
  assert.deepEqual(await grid.map(scoop.scaled, [1, 2, 3]), [3, 6, 9]);
  await assert.rejects(grid.shared.set({ factor: 4 }), /set once; "factor" is already set/);
  assert.equal(grid.shared.get('factor'), 3);
  // A constant set later reaches threads that already have the first.
  await grid.shared.set({ offset: 100 });
  assert.deepEqual(await grid.map(local.scaledPlusOffset, [1, 2, 3, 4]), [103, 106, 109, 112]);
});

test('a task that throws rejects with RemoteError carrying the remote name, message and stack', async () => {
  const err = await grid.submit(tasks.fail, 'out of range').exception();
  assert.ok(err instanceof RemoteError);
  assert.equal(err.remoteName, 'RangeError');
  assert.equal(err.remoteMessage, 'out of range');
  assert.match(err.remoteStack ?? '', /fail/);
  // Stack frames name the bundle, not a data: URL the size of the bundle.
  assert.match(err.remoteStack ?? '', /ladle-task-[0-9a-f]{12}\.js:\d+:\d+/);
  assert.doesNotMatch(err.remoteStack ?? '', /data:/);
  assert.equal(await grid.submit(tasks.square, 3), 9, 'the grid keeps serving');
});

test('an endless loop past its timeout rejects with TimeoutError; its thread is replaced and the grid keeps serving', { timeout: 60_000 }, async () => {
  const hung = grid.submit(scoop.hang.with({ timeout: 300 }));
  await assert.rejects(hung.result(), (e: unknown) => e instanceof TimeoutError && /timeout of 300 ms/.test(e.message));
  // Both threads hang at once: both are replaced.
  const two = [grid.submit(scoop.hang.with({ timeout: 200 })), grid.submit(scoop.hang.with({ timeout: 200 }))];
  for (const f of two) await assert.rejects(f.result(), TimeoutError);
  assert.deepEqual(await grid.map(scoop.square, [1, 2, 3, 4, 5, 6]), [1, 4, 9, 16, 25, 36]);
  assert.equal(await grid.submit(scoop.func3, 5), 55, 'nested work still runs');
});

test('cancel: true while queued (CancelledError, done, and it never runs), false once running', { timeout: 30_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ladle-local-'));
  try {
    const blockers = [grid.submit(scoop.slowValue, 1000, 1), grid.submit(scoop.slowValue, 1000, 2)];
    await until(() => blockers.every((f) => f.running()), 'both threads run');
    const unsent = grid.submit(local.touch, join(dir, 'unsent'));
    assert.equal(unsent.cancel(), true, 'cancelled in the turn it was submitted: the engine never hears of it');
    const queued = grid.submit(local.touch, join(dir, 'cancelled'));
    // The SDK sends submissions at the end of the turn (setImmediate): after this one, the engine holds the task.
    await new Promise((r) => setImmediate(r));
    assert.equal(queued.running(), false);
    assert.equal(queued.cancel(), true);
    assert.equal(queued.cancelled(), true);
    assert.equal(queued.done(), true);
    await assert.rejects(queued.result(), CancelledError);
    assert.equal(blockers[0].cancel(), false);
    assert.deepEqual(await Promise.all(blockers.map((f) => f.result())), [1, 2]);
    // Tasks submitted after it have run: had it not been withdrawn, it would have too.
    await grid.submit(local.touch, join(dir, 'later'));
    assert.equal(existsSync(join(dir, 'later')), true);
    assert.equal(existsSync(join(dir, 'cancelled')), false, 'the cancelled task never ran');
    assert.equal(existsSync(join(dir, 'unsent')), false);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a failing parent cancels its unfinished children', { timeout: 30_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ladle-local-'));
  try {
    const err = await grid.submit(local.failAfterSpawningWriters, dir, 50).exception();
    assert.ok(err instanceof RemoteError && /parent failed on purpose/.test(err.message));
    // Children still running when it failed run on: once both threads are free again, they are done.
    await grid.map(scoop.slowValue, [50, 50], [0, 0]);
    const ran = (await readdir(dir)).length;
    assert.ok(ran > 0, 'some children ran before the parent failed');
    assert.ok(ran < 50, `only ${ran} of 50 children ran before the parent failed`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('grid.fn runs inline functions', async () => {
  const inc = grid.fn((x: number) => x + 1);
  assert.equal(await grid.submit(inc, 41), 42);
  assert.deepEqual(await grid.map(inc, [1, 2, 3]), [2, 3, 4]);
});

test("a result over a default coordinator's limit fails here as it would on a grid: ERR_TOO_LARGE", async () => {
  const bytes = grid.fn((n: number) => new Uint8Array(n));
  const err = await grid.submit(bytes, 16 * 1024 * 1024 + 1).exception();
  assert.ok(err instanceof LadleError && err.code === 'ERR_TOO_LARGE', `got ${String(err)}`);
  assert.match(err.message, /result is 167772\d\d bytes packed; a result may be at most 16777216/);
  assert.equal((await grid.submit(bytes, 1024)).byteLength, 1024, 'a smaller one comes back');
});

test('a task whose thread exits is run again up to its attempts, then fails with TaskLostError', { timeout: 60_000 }, async () => {
  const err = await grid.submit(local.exitThread.with({ attempts: 2 }), 7).exception();
  assert.ok(err instanceof TaskLostError, `got ${String(err)}`);
  assert.match(err.message, /lost 2 times/);
  assert.match(err.message, /exited with code 7/);
  assert.equal(await grid.submit(tasks.square, 5), 25, 'the grid keeps serving');
});

test('an error left uncaught in a timer of a task is logged; the thread lives on and the task returns', async () => {
  assert.equal(await grid.submit(local.strayErrorThenReturn.with({ attempts: 1 })), 'survived');
});

test('tasks run in Node: Node globals, no DOM', async () => {
  assert.deepEqual(await grid.submit(local.environment), { node: process.versions.node, window: 'undefined', document: 'undefined' });
});

test('one thread runs a recursion of its own tasks; close() cancels pending futures and the closed grid refuses new work', { timeout: 60_000 }, async () => {
  const other = await connect({ url: 'local', threads: 1 });
  const otherTasks = await other.module<typeof Scoop>(fixture('scoop.ts'));
  assert.equal(await other.submit(otherTasks.fib, 10), 55);
  const running = other.submit(otherTasks.slowValue, 5000, 1);
  const queued = other.submit(otherTasks.square, 2);
  await until(() => running.running(), 'the task runs');
  await other.close();
  await assert.rejects(running.result(), CancelledError);
  await assert.rejects(queued.result(), CancelledError);
  assert.throws(() => other.submit(otherTasks.square, 2), ConnectionError);
});

test('LADLE_URL=local needs no token; bad thread counts are clear errors', async () => {
  const saved = { url: process.env.LADLE_URL, token: process.env.LADLE_TOKEN };
  process.env.LADLE_URL = 'local';
  delete process.env.LADLE_TOKEN;
  try {
    const viaEnv = await connect({ threads: 1 });
    try {
      assert.equal(await viaEnv.submit(viaEnv.fn((x: number) => x * 2), 21), 42);
    } finally {
      await viaEnv.close();
    }
  } finally {
    if (saved.url === undefined) delete process.env.LADLE_URL;
    else process.env.LADLE_URL = saved.url;
    if (saved.token !== undefined) process.env.LADLE_TOKEN = saved.token;
  }
  for (const threads of [0, 1.5, 1000]) await assert.rejects(connect({ url: 'local', threads }), /threads is a whole number from 1 to 256/);
  await assert.rejects(connect({ url: 'http://127.0.0.1:9', token: 'x', threads: 2 }), /threads applies to local mode/);
});

test('a plain JavaScript program on the built package runs locally with LADLE_URL=local and no token', { timeout: 60_000 }, async () => {
  // Needs dist/ built (npm test builds it): the worker threads start from the package's sources.
  const script = fileURLToPath(new URL('../fixtures/plain-client.mjs', import.meta.url));
  const env: NodeJS.ProcessEnv = { ...process.env, LADLE_URL: 'local' };
  delete env.LADLE_TOKEN;
  const { stdout } = await promisify(execFile)(process.execPath, [script], { env });
  assert.equal(stdout.trim(), '144 [1,4,9]');
});

test('worker threads that cannot start fail the start with a clear error', async () => {
  const broken = new URL(`data:text/javascript,${encodeURIComponent('throw new Error("no threads here")')}`);
  await assert.rejects(
    LocalEngine.start(2, { output: () => assert.fail('no output expected') }, broken),
    /local mode could not start its worker threads: .*exited with code 1: no threads here/,
  );
});

test('ladle-grid/task outside a task says how to run task code without a browser', () => {
  assert.throws(() => submitFromTask((x: number) => x, 1), /connect\(\{ url: 'local' \}\)/);
});
