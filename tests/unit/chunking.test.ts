// Chunks of calls (map's chunkSize): splitting into tasks, one outcome per
// call back, cancellation and state per call, and the Web Worker's side.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Future } from '../../futures/future.ts';
import { Chunker, chunkOutcomes, chunkSizeOf, type ChunkOutcome } from '../../futures/chunking.ts';
import { FuturesApi } from '../../futures/futures-api.ts';
import { CancelledError, ErrorCode, LadleError, RemoteError, TimeoutError } from '../../futures/errors.ts';
import { packChunk, runChunk } from '../../browser-worker/chunk-runner.ts';
import { unpack } from '../../protocol/codec.ts';
import { tick } from '../helpers/futures.ts';

/** Records each chunk task submitted, for the test to settle. */
function chunkDriver() {
  const tasks: { calls: unknown[][]; future: Future<unknown>; withdrawn: boolean }[] = [];
  const submit = (calls: unknown[][]) => {
    const task = { calls, future: undefined as unknown as Future<unknown>, withdrawn: false };
    task.future = new Future<unknown>(() => (task.withdrawn = true));
    tasks.push(task);
    return task.future;
  };
  return { tasks, submit };
}

const ok = (v: unknown): ChunkOutcome => [1, v];
const err = (message: string): ChunkOutcome => [0, { name: 'RangeError', message }];

test('calls leave in chunks of chunkSize, the rest on flush; each call gets its own outcome', async () => {
  const d = chunkDriver();
  const chunker = new Chunker(d.submit, 3);
  const futures = [1, 2, 3, 4, 5].map((x) => chunker.add([x, 'a']));
  assert.equal(d.tasks.length, 1, 'a full chunk leaves at once');
  assert.deepEqual(d.tasks[0].calls, [[1, 'a'], [2, 'a'], [3, 'a']]);
  chunker.flush();
  assert.deepEqual(d.tasks[1].calls, [[4, 'a'], [5, 'a']]);
  chunker.flush();
  assert.equal(d.tasks.length, 2, 'an empty flush sends nothing');

  d.tasks[0].future.setResult([ok(10), err('two is bad'), ok(30)]);
  d.tasks[1].future.setResult([ok(40), ok(50)]);
  assert.equal(await futures[0], 10);
  await assert.rejects(futures[1].result(), (e: unknown) => e instanceof RemoteError && e.remoteName === 'RangeError' && e.remoteMessage === 'two is bad');
  assert.deepEqual(await Promise.all([futures[2], futures[3], futures[4]]), [30, 40, 50]);
});

test("a chunk's state is each call's: running together; a failed task fails every call with its own copy", async () => {
  const d = chunkDriver();
  const chunker = new Chunker(d.submit, 2);
  const [a, b] = [chunker.add([1]), chunker.add([2])];
  assert.equal(a.running(), false);
  d.tasks[0].future.setRunning();
  assert.equal(a.running(), true);
  assert.equal(b.running(), true);
  assert.equal(a.cancel(), false, 'a running call cannot be cancelled');
  d.tasks[0].future.setException(new TimeoutError('ran past its timeout'));
  const [ea, eb] = await Promise.all([a.result().catch((e: unknown) => e), b.result().catch((e: unknown) => e)]);
  assert.ok(ea instanceof TimeoutError && eb instanceof TimeoutError);
  assert.notEqual(ea, eb, 'one error object per call');
  assert.equal((ea as Error).message, 'ran past its timeout');
});

test('a chunk whose results are too large together goes again call by call; only a call too large alone fails', async () => {
  const d = chunkDriver();
  let told = 0;
  const chunker = new Chunker(d.submit, 3, undefined, () => told++);
  const futures = [1, 2, 3].map((x) => chunker.add([x]));
  d.tasks[0].future.setRunning();
  d.tasks[0].future.setException(new LadleError(ErrorCode.TOO_LARGE, "the task's result is 20000000 bytes packed; a result may be at most 16777216"));
  await tick();
  assert.equal(told, 1);
  assert.deepEqual(
    d.tasks.slice(1).map((t) => t.calls),
    [[[1]], [[2]], [[3]]],
  );
  d.tasks[1].future.setResult([ok(10)]);
  d.tasks[2].future.setException(new LadleError(ErrorCode.TOO_LARGE, 'alone too'));
  d.tasks[3].future.setResult([ok(30)]);
  assert.equal(await futures[0], 10);
  await assert.rejects(futures[1].result(), (e: unknown) => e instanceof LadleError && e.code === ErrorCode.TOO_LARGE && e.message === 'alone too');
  assert.equal(await futures[2], 30);
  assert.equal(d.tasks.length, 4, 'a call alone is not sent again');
  assert.equal(told, 1);
});

test('cancelling a call of a queued chunk: true for it alone; the task is withdrawn once no call is wanted', async () => {
  const d = chunkDriver();
  const chunker = new Chunker(d.submit, 2);
  const [a, b] = [chunker.add([1]), chunker.add([2])];
  assert.equal(a.cancel(), true);
  await assert.rejects(a.result(), CancelledError);
  assert.equal(d.tasks[0].withdrawn, false, 'the other call still wants the task');
  d.tasks[0].future.setResult([ok('late'), ok(2)]);
  assert.equal(await b, 2);
  assert.equal(a.cancelled(), true, 'the late outcome of a cancelled call is ignored');

  const [c, e] = [chunker.add([3]), chunker.add([4])];
  assert.equal(c.cancel(), true);
  assert.equal(e.cancel(), true);
  assert.equal(d.tasks[1].withdrawn, true);
  assert.equal(d.tasks[1].future.cancelled(), true);
});

test('a call cancelled before its chunk leaves is not sent', () => {
  const d = chunkDriver();
  const chunker = new Chunker(d.submit, 10);
  const a = chunker.add([1]);
  chunker.add([2]);
  assert.equal(a.cancel(), true);
  chunker.flush();
  assert.deepEqual(d.tasks[0].calls, [[2]]);
  const c = chunker.add([3]);
  c.cancel();
  chunker.flush();
  assert.equal(d.tasks.length, 1, 'a chunk of only cancelled calls is not sent');
});

test('a chunk refused on the spot goes call by call, so only the bad call fails', async () => {
  const tasks: unknown[][][] = [];
  const chunker = new Chunker((calls) => {
    tasks.push(calls);
    const f = new Future<unknown>();
    if (calls.some((c) => c[0] === 'bad')) f.setException(new TypeError('the arguments cannot be encoded'));
    else f.setResult(calls.map((c) => ok(c[0])));
    return f;
  }, 3);
  const futures = ['x', 'bad', 'y'].map((v) => chunker.add([v]));
  assert.deepEqual(tasks, [[['x'], ['bad'], ['y']], [['x']], [['bad']], [['y']]]);
  assert.equal(await futures[0], 'x');
  await assert.rejects(futures[1].result(), TypeError);
  assert.equal(await futures[2], 'y');

  const throwing = new Chunker(() => {
    throw new Error('grid closed');
  }, 2);
  const [p, q] = [throwing.add([1]), throwing.add([2])];
  await assert.rejects(p.result(), /grid closed/);
  await assert.rejects(q.result(), /grid closed/);
});

test('a malformed chunk result from a page fails its calls with a clear error', async () => {
  assert.throws(() => chunkOutcomes([ok(1)], 2), /chunk of 2 calls came back malformed \(1 outcomes\)/);
  assert.throws(() => chunkOutcomes('nope', 1), /malformed \(string\)/);
  assert.throws(() => chunkOutcomes([[2, 1]], 1), /malformed outcome/);
  assert.throws(() => chunkOutcomes([[0, { name: 1, message: 'x' }]], 1), /malformed outcome/);
  assert.throws(() => chunkOutcomes([[1]], 1), /malformed outcome/);
  assert.deepEqual(chunkOutcomes([ok(1), err('e')], 2), [ok(1), err('e')]);

  const d = chunkDriver();
  const chunker = new Chunker(d.submit, 2);
  const [a, b] = [chunker.add([1]), chunker.add([2])];
  d.tasks[0].future.setResult({ not: 'outcomes' });
  await assert.rejects(a.result(), /malformed/);
  await assert.rejects(b.result(), /malformed/);
});

test('chunkSize is a whole number from 1 to 100000', () => {
  assert.equal(chunkSizeOf({}), 1);
  assert.equal(chunkSizeOf({ chunkSize: 50 }), 50);
  for (const bad of [0, -1, 1.5, '10', 100_001, Number.NaN]) assert.throws(() => chunkSizeOf({ chunkSize: bad }), /chunkSize must be a whole number/);
  const api = new FuturesApi(() => new Future());
  assert.throws(() => api.map('f', [[1, 2], { chunkSize: 0 }]), TypeError);
  assert.throws(() => api.mapAsCompleted('f', [[1, 2], { chunkSize: 'x' }]), TypeError);
  assert.throws(() => api.mapReduce('f', 'g', [[1, 2], { chunkSize: 2.5 }]), TypeError);
});

/** A FuturesApi whose submits are settled here, as a page would run them. */
function fakeGrid(fn: (x: number) => number) {
  const submitted: { args: unknown[]; chunk: boolean }[] = [];
  const api = new FuturesApi((_target, args, chunk) => {
    submitted.push({ args, chunk: chunk === true });
    const f = new Future<unknown>();
    const run = (call: unknown[]): ChunkOutcome => {
      try {
        return ok(fn(call[0] as number));
      } catch (e) {
        return [0, { name: 'Error', message: (e as Error).message }];
      }
    };
    setImmediate(() => {
      if (chunk) {
        f.setResult((args as unknown[][]).map(run));
      } else {
        const [tag, v] = run(args);
        if (tag === 1) f.setResult(v);
        else f.setException(new RemoteError(v));
      }
    });
    return f;
  });
  return { api, submitted };
}

test('map, mapAsCompleted and mapReduce with chunkSize give the results of one call per task', async () => {
  const inputs = Array.from({ length: 23 }, (_, i) => i);
  const plain = fakeGrid((x) => x * x);
  const chunked = fakeGrid((x) => x * x);
  assert.deepEqual(await chunked.api.map('sq', [inputs, { chunkSize: 5 }]), await plain.api.map('sq', [inputs]));
  assert.equal(plain.submitted.length, 23);
  assert.deepEqual(
    chunked.submitted.map((s) => [s.chunk, s.args.length]),
    [[true, 5], [true, 5], [true, 5], [true, 5], [true, 3]],
  );

  const got: number[] = [];
  for await (const y of chunked.api.mapAsCompleted('sq', [inputs, { chunkSize: 4, inFlight: 6 }])) got.push(y as number);
  assert.deepEqual(got.sort((a, b) => a - b), inputs.map((x) => x * x));

  const sums = fakeGrid((x) => x);
  const add = (a: number, b: number) => a + b;
  const reduceApi = new FuturesApi((target, args, chunk) => {
    if (target === 'add') {
      const f = new Future<unknown>();
      setImmediate(() => f.setResult(add(args[0] as number, args[1] as number)));
      return f;
    }
    return (sums.api as unknown as { submitOne: (t: unknown, a: unknown[], c?: boolean) => Future<unknown> }).submitOne(target, args, chunk);
  });
  assert.equal(await reduceApi.mapReduce('id', 'add', [inputs, { chunkSize: 7 }]), 253);
  assert.ok(sums.submitted.every((s) => s.chunk), 'the map side went in chunks');
});

test('a throwing call in a chunked map rejects with its input index; the others in its chunk do not', async () => {
  const g = fakeGrid((x) => {
    if (x === 37) throw new Error('37 is unlucky');
    return x;
  });
  await assert.rejects(Promise.resolve(g.api.map('f', [Array.from({ length: 100 }, (_, i) => i), { chunkSize: 8 }])), (e: unknown) => {
    assert.ok(e instanceof RemoteError);
    assert.equal((e as { index?: number }).index, 37);
    assert.match(e.message, /^map input 37 failed: Error: 37 is unlucky$/);
    return true;
  });
  const seen: number[] = [];
  await assert.rejects(
    (async () => {
      for await (const y of g.api.mapAsCompleted('f', [Array.from({ length: 40 }, (_, i) => i), { chunkSize: 8 }])) seen.push(y as number);
    })(),
    (e: unknown) => (e as { index?: number }).index === 37,
  );
  assert.ok(seen.includes(36) || seen.includes(38) || seen.length > 0, 'calls beside the failing one succeeded');
});

test("the Web Worker runs a chunk's calls one by one, each failing alone, awaiting where a call returns a promise", async () => {
  const sync = runChunk((x) => {
    if (x === 2) throw new RangeError('no 2');
    return (x as number) * 10;
  }, [[1], [2], [3]]);
  assert.ok(Array.isArray(sync), 'synchronous calls give the outcomes at once');
  assert.deepEqual(sync.map((o) => o[0]), [1, 0, 1]);
  assert.equal(sync[2][1], 30);
  assert.equal((sync[1][1] as { message: string }).message, 'no 2');

  const order: string[] = [];
  const mixed = runChunk(async (x) => {
    order.push(`start ${String(x)}`);
    await tick();
    if (x === 'b') throw new Error('b failed');
    order.push(`end ${String(x)}`);
    return x;
  }, [['a'], ['b'], ['c']]);
  assert.ok(mixed instanceof Promise);
  const outcomes = await mixed;
  assert.deepEqual(order, ['start a', 'end a', 'start b', 'start c', 'end c'], 'one call at a time, in order');
  assert.deepEqual(outcomes.map((o) => o[0]), [1, 0, 1]);

  assert.throws(() => runChunk(() => 1, [1, 2]), /array of argument lists/);
  assert.throws(() => runChunk(() => 1, 'x'), /array of argument lists/);
});

test('a call whose value cannot be copied fails alone, with DataCloneError naming it', () => {
  const bytes = packChunk([ok(1), ok(Symbol('not encodable')), err('was bad already')]);
  assert.ok(bytes instanceof Uint8Array, 'one bad call does not fail the chunk');
  const outcomes = chunkOutcomes(unpack(bytes), 3);
  assert.deepEqual(outcomes[0], ok(1));
  assert.equal(outcomes[1][0], 0);
  assert.match((outcomes[1][1] as { message: string }).message, /result\[1\] cannot be copied: it is a symbol/);
  assert.equal((outcomes[1][1] as { name: string }).name, 'DataCloneError');
  assert.equal((outcomes[2][1] as { message: string }).message, 'was bad already');
});

test('a consumer pulling one by one still gets full chunks; inFlight below chunkSize cannot stall the map', async () => {
  const g = fakeGrid((x) => x + 1);
  const xs = Array.from({ length: 60 }, (_, i) => i);
  const got: unknown[] = [];
  for await (const y of g.api.map('f', [xs, { chunkSize: 5, inFlight: 10 }])) got.push(y);
  assert.deepEqual(got, xs.map((x) => x + 1));
  assert.deepEqual(g.submitted.map((s) => s.args.length), Array(12).fill(5), 'every chunk left full');

  const small = fakeGrid((x) => x);
  assert.deepEqual(await small.api.map('f', [xs.slice(0, 25), { chunkSize: 10, inFlight: 3 }]), xs.slice(0, 25));
  const seen: unknown[] = [];
  for await (const y of small.api.mapAsCompleted('f', [xs.slice(0, 25), { chunkSize: 10, inFlight: 1 }])) seen.push(y);
  assert.equal(seen.length, 25);
});
