// Automatic chunking (map without chunkSize): sized by how long the
// function's tasks ran where they ran, and with the API's semantics intact:
// input order, a failing call's index, progress per call, cancellation, the
// in-flight bound, and one task per call where chunks would change meaning.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Future } from '../../futures/future.ts';
import { CallTimes, TARGET_MS, ranMs, sizeFor, type AutoChunk } from '../../futures/auto-chunk.ts';
import { FuturesApi } from '../../futures/futures-api.ts';
import { RemoteError } from '../../futures/errors.ts';
import { ProtocolError, parsePageMessage, parseToClient } from '../../protocol/messages.ts';
import type { ChunkOutcome } from '../../futures/chunking.ts';
import { tick } from '../helpers/futures.ts';

test('a function starts at one task per call; once timed, a chunk holds about TARGET_MS of its calls', () => {
  assert.equal(sizeFor(undefined), 1);
  assert.equal(sizeFor(5), 1, 'calls longer than the target stay one per task');
  assert.equal(sizeFor(TARGET_MS), 1);
  assert.equal(sizeFor(TARGET_MS / 10), 10);
  assert.equal(sizeFor(0.001), Math.floor(TARGET_MS / 0.001));
  assert.equal(sizeFor(0), Number.MAX_SAFE_INTEGER, 'calls too quick for the clock: as big as the caller allows');

  const times = new CallTimes();
  const auto = times.for('bundle:f');
  assert.equal(auto.size(), 1);
  const task = new Future<unknown>();
  auto.watch(task, 100);
  ranMs.set(task, 1);
  task.setResult([]);
  assert.equal(times.estimate('bundle:f'), 0.01, 'the task time is shared by its calls');
  assert.equal(auto.size(), 200);
  assert.equal(times.estimate('bundle:g'), undefined, 'each function has its own estimate');

  // Slower calls later pull the estimate back up, and the chunks down.
  for (let i = 0; i < 20; i++) times.observe('bundle:f', 10);
  assert.equal(auto.size(), 1);
  // A result that carried no time (an old page, a refusal) teaches nothing.
  const untimed = new Future<unknown>();
  auto.watch(untimed, 1);
  untimed.setResult(1);
  assert.ok(times.estimate('bundle:f')! > 9);
});

/** A FuturesApi over a fake grid: each task runs `fn` on its calls at the
 * next turn and says it ran `msPerCall` per call. `auto` is on for every target. */
function fakeGrid(fn: (x: number) => number, msPerCall: number, options: { auto?: (target: unknown) => AutoChunk | undefined } = {}) {
  const times = new CallTimes();
  const tasks: { target: unknown; calls: number; chunk: boolean; future: Future<unknown>; withdrawn: boolean }[] = [];
  const run = (call: unknown[]): ChunkOutcome => {
    try {
      return [1, fn(call[0] as number)];
    } catch (e) {
      return [0, { name: 'RangeError', message: (e as Error).message }];
    }
  };
  let hold = false;
  const pending: (() => void)[] = [];
  const api = new FuturesApi(
    (target, args, chunk) => {
      const task = { target, calls: chunk ? args.length : 1, chunk: chunk === true, future: undefined as unknown as Future<unknown>, withdrawn: false };
      task.future = new Future<unknown>(() => (task.withdrawn = true));
      tasks.push(task);
      const settle = () => {
        if (task.withdrawn) return;
        task.future.setRunning();
        ranMs.set(task.future, msPerCall * task.calls);
        if (chunk) return task.future.setResult((args as unknown[][]).map(run));
        const [ok, v] = run(args);
        if (ok === 1) task.future.setResult(v);
        else task.future.setException(new RemoteError(v));
      };
      if (hold) pending.push(settle);
      else setImmediate(settle);
      return task.future;
    },
    undefined,
    undefined,
    options.auto ?? ((target) => times.for(target)),
  );
  return {
    api,
    tasks,
    times,
    /** Tasks wait for release() instead of running at the next turn. */
    hold() {
      hold = true;
    },
    release() {
      hold = false;
      for (const settle of pending.splice(0)) setImmediate(settle);
    },
  };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

test('a function whose chunk results were too large together goes one task per call from then on, however quick', () => {
  const times = new CallTimes();
  const auto = times.for('bundle:big');
  times.observe('bundle:big', 0.001);
  assert.equal(auto.size(), Math.floor(TARGET_MS / 0.001));
  auto.tooLarge();
  assert.equal(auto.size(), 1);
  times.observe('bundle:big', 0.001);
  assert.equal(times.for('bundle:big').size(), 1, 'for later maps too');
  assert.equal(times.for('bundle:other').size(), 1, 'another function is untouched (not timed yet)');
  times.observe('bundle:other', 0.001);
  assert.ok(times.for('bundle:other').size() > 1);
});
test('a quick function: the first map goes one task per call, the next in chunks, with the same results in input order', async () => {
  const g = fakeGrid((x) => x * 2, 0.001);
  const xs = range(500);
  assert.deepEqual(await g.api.map('f', [xs]), xs.map((x) => x * 2));
  assert.equal(g.tasks.length, 500, 'nothing known yet: one task per call');
  assert.ok(g.tasks.every((t) => !t.chunk));
  g.tasks.length = 0;
  assert.deepEqual(await g.api.map('f', [xs]), xs.map((x) => x * 2));
  assert.ok(g.tasks.length <= 2, `${g.tasks.length} tasks for 500 quick calls`);
  assert.ok(g.tasks.every((t) => t.chunk));
  assert.equal(g.tasks.reduce((n, t) => n + t.calls, 0), 500);

  const completed: number[] = [];
  for await (const y of g.api.mapAsCompleted('f', [xs])) completed.push(y as number);
  assert.deepEqual(completed.sort((a, b) => a - b), xs.map((x) => x * 2));
});

test('a slow function stays one task per call', async () => {
  const g = fakeGrid((x) => x, 20);
  await g.api.map('slow', [range(50)]);
  g.tasks.length = 0;
  await g.api.map('slow', [range(50)]);
  assert.equal(g.tasks.length, 50);
  assert.ok(g.tasks.every((t) => !t.chunk));
});

test('in chunks, a throwing call rejects the map with its own index; its chunk-mates keep their values', async () => {
  const g = fakeGrid((x) => {
    if (x === 137) throw new RangeError(`input ${x} is refused`);
    return x;
  }, 0.001);
  await g.api.map('f', [range(10)]);
  const xs = range(300);
  await assert.rejects(Promise.resolve(g.api.map('f', [xs])), (e: unknown) => {
    assert.ok(e instanceof RemoteError);
    assert.equal((e as { index?: number }).index, 137);
    assert.match(e.message, /^map input 137 failed: RangeError: input 137 is refused$/);
    return true;
  });
  assert.ok(g.tasks.some((t) => t.chunk && t.calls > 137), 'the failing call travelled in a chunk');
  const it = g.api.map('f', [xs])[Symbol.asyncIterator]();
  for (let i = 0; i < 137; i++) assert.deepEqual(await it.next(), { done: false, value: i });
});

test('progress counts calls, not chunks', async () => {
  const done: boolean[] = [];
  let finished = 0;
  const times = new CallTimes();
  times.observe('f', 0.001);
  const tasks: number[] = [];
  const api = new FuturesApi(
    (_t, args, chunk) => {
      const f = new Future<unknown>();
      tasks.push(chunk ? args.length : 1);
      setImmediate(() => {
        ranMs.set(f, 0.1);
        f.setResult(chunk ? (args as unknown[][]).map((c): ChunkOutcome => [1, c[0]]) : args[0]);
      });
      return f;
    },
    () => ({ taskDone: (failed) => done.push(failed), finish: () => finished++ }),
    undefined,
    (t) => times.for(t),
  );
  await api.map('f', [range(250), { onProgress: () => undefined }]);
  assert.ok(tasks.length < 250, 'it went in chunks');
  assert.equal(done.length, 250);
  assert.ok(done.every((failed) => !failed));
  assert.equal(finished, 1);
});

test('a map stopped early withdraws its queued chunks; the in-flight bound counts calls', async () => {
  const g = fakeGrid((x) => x, 0.001);
  await g.api.map('f', [range(10)]);
  g.tasks.length = 0;
  g.hold();
  const it = g.api.map('f', [range(3000), { inFlight: 400 }])[Symbol.asyncIterator]();
  const first = it.next();
  await tick();
  assert.ok(g.tasks.length >= 2 && g.tasks.every((t) => t.chunk), 'queued in chunks');
  assert.ok(g.tasks.reduce((n, t) => n + t.calls, 0) <= 400, 'the in-flight bound holds in calls');
  await it.return!();
  // The first chunk holds the call being awaited; no call of the others is wanted.
  assert.ok(g.tasks.slice(1).every((t) => t.withdrawn), 'the queued chunks are withdrawn');
  assert.equal(g.tasks[0].withdrawn, false);
  g.release();
  assert.deepEqual(await first, { done: false, value: 0 });
});

test('no automatic chunks for async inputs, an explicit chunkSize, or a target the grid declines (a timeout)', async () => {
  const g = fakeGrid((x) => x, 0.001);
  await g.api.map('f', [range(10)]);
  g.tasks.length = 0;
  async function* gen() {
    for (let i = 0; i < 40; i++) yield i;
  }
  assert.deepEqual(await g.api.map('f', [gen()]), range(40));
  assert.equal(g.tasks.length, 40, 'an async input may yield slowly: one task per call');
  g.tasks.length = 0;
  await g.api.map('f', [range(40), { chunkSize: 1 }]);
  assert.equal(g.tasks.length, 40, 'chunkSize 1 means one task per call');
  g.tasks.length = 0;
  await g.api.map('f', [range(40), { chunkSize: 8 }]);
  assert.deepEqual(g.tasks.map((t) => t.calls), [8, 8, 8, 8, 8]);

  const declined = fakeGrid((x) => x, 0.001, { auto: () => undefined });
  await declined.api.map('f', [range(10)]);
  await declined.api.map('f', [range(40)]);
  assert.equal(declined.tasks.length, 50);
});

test('a chunk never holds more than a quarter of inFlight, so full chunks keep leaving while the window refills', async () => {
  const g = fakeGrid((x) => x, 0);
  await g.api.map('f', [range(10)]);
  g.tasks.length = 0;
  const out: number[] = [];
  for await (const y of g.api.map('f', [range(1000), { inFlight: 40 }])) out.push(y as number);
  assert.deepEqual(out, range(1000));
  assert.ok(g.tasks.every((t) => t.calls <= 10), `chunk sizes ${[...new Set(g.tasks.map((t) => t.calls))].join(', ')}`);
});

test("a result's run time (ms) is checked where results are parsed: a page cannot send nonsense through", () => {
  const results = (ms: unknown) => ({ t: 'results', seq: 1, started: [], results: [{ id: 1, ok: true, value: new Uint8Array([1]), ms }] });
  const report = (ms: unknown) => ({ t: 'report', started: [], results: [{ id: 1, ok: false, error: { name: 'Error', message: 'x' }, ms }], lost: [], submit: [], cancel: [], blocked: 0, ready: 0, local: 0 });
  for (const ok of [undefined, 0, 0.1, 12_345.678]) {
    assert.doesNotThrow(() => parseToClient(results(ok)));
    assert.doesNotThrow(() => parsePageMessage(report(ok)));
  }
  for (const bad of [-1, Number.NaN, Infinity, '3', null, 1e12]) {
    assert.throws(() => parseToClient(results(bad)), (e: unknown) => e instanceof ProtocolError && /result\.ms must be a number of milliseconds/.test(e.message));
    assert.throws(() => parsePageMessage(report(bad)), ProtocolError);
  }
});

test('one preempted task does not undo chunking; calls that really got slower still raise the estimate within a few tasks', () => {
  const times = new CallTimes();
  for (let i = 0; i < 10; i++) times.observe('f', 0.05);
  const steady = times.estimate('f')!;
  // A task of quick calls whose thread was descheduled for 50 ms.
  times.observe('f', 50);
  assert.ok(times.estimate('f')! <= 2 * steady, `one outlier moves the estimate at most 2x: ${times.estimate('f')}`);
  assert.ok(sizeFor(times.estimate('f')) >= 20, 'its calls still travel many to a task');
  // Calls that now take 5 ms each: one task per call within ten observations.
  for (let i = 0; i < 10; i++) times.observe('f', 5);
  assert.equal(sizeFor(times.estimate('f')), 1);
  // From "too quick to time" (0 ms), a real time still gets in.
  times.observe('g', 0);
  times.observe('g', 3);
  assert.ok(times.estimate('g')! > 0);
});
