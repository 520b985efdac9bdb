// The completion-ordered, bounded streaming of mapAsCompleted, driven by
// futures settled by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Future } from '../../futures/future.ts';
import { MapAsCompleted } from '../../futures/map-as-completed.ts';
import { zipInputs } from '../../futures/inputs.ts';
import { tick, driver } from '../helpers/futures.ts';

function* endless() {
  for (let i = 0; ; i++) yield i;
}

test('a result done but not yet yielded still counts against inFlight', { timeout: 10_000 }, async () => {
  const d = driver();
  const results = new MapAsCompleted<unknown>(zipInputs([endless()]), d.submit, 3);
  await tick();
  assert.equal(d.submitted.length, 3);
  for (const { future } of d.submitted) future.setResult('x');
  await tick();
  assert.equal(d.submitted.length, 3);
  await results[Symbol.asyncIterator]().return!();
});

test('yields values in completion order; each value consumed frees a slot; return() cancels', { timeout: 10_000 }, async () => {
  const d = driver();
  const it = new MapAsCompleted<unknown>(zipInputs([endless()]), d.submit, 3)[Symbol.asyncIterator]();
  await tick();
  d.submitted[2].future.setResult('two');
  d.submitted[0].future.setResult('zero');
  assert.deepEqual(await it.next(), { done: false, value: 'two' });
  assert.deepEqual(await it.next(), { done: false, value: 'zero' });
  await tick();
  assert.equal(d.submitted.length, 5);
  const waiting = it.next();
  d.submitted[4].future.setResult('four');
  assert.deepEqual(await waiting, { done: false, value: 'four' });
  await it.return!();
  assert.equal(d.submitted[1].future.cancelled(), true);
  assert.equal(d.submitted[3].future.cancelled(), true);
  assert.deepEqual(await it.next(), { done: true, value: undefined });
});

test('a finite input ends after every value, and onEnd runs once', { timeout: 10_000 }, async () => {
  const d = driver();
  let ends = 0;
  const results = new MapAsCompleted<unknown>(zipInputs([[1, 2, 3, 4], 'abcd'.split('')]), d.submit, 10, () => ends++);
  const values: unknown[] = [];
  const consuming = (async () => {
    for await (const v of results) values.push(v);
  })();
  await tick();
  assert.equal(d.submitted.length, 4);
  for (const i of [3, 1, 0, 2]) {
    const { args, future } = d.submitted[i];
    future.setResult(args.join(''));
    await tick();
  }
  await consuming;
  assert.deepEqual(values, ['4d', '2b', '1a', '3c']);
  assert.equal(ends, 1);
  assert.throws(() => results[Symbol.asyncIterator](), /iterated once/);
});

test('a task failure rejects next() and cancels the rest', { timeout: 10_000 }, async () => {
  const d = driver();
  let ends = 0;
  const it = new MapAsCompleted<unknown>(zipInputs([[1, 2, 3]]), d.submit, 10, () => ends++)[Symbol.asyncIterator]();
  await tick();
  d.submitted[1].future.setException(new Error('bad'));
  await assert.rejects(it.next(), /bad/);
  assert.equal(d.submitted[0].future.cancelled(), true);
  assert.equal(d.submitted[2].future.cancelled(), true);
  assert.deepEqual(await it.next(), { done: true, value: undefined });
  assert.equal(ends, 1);
});

test('an input that throws fails the map once the tasks before it are yielded', { timeout: 10_000 }, async () => {
  const d = driver();
  function* broken() {
    yield 1;
    throw new Error('input broke');
  }
  const it = new MapAsCompleted<unknown>(zipInputs([broken()]), d.submit, 10)[Symbol.asyncIterator]();
  await tick();
  assert.equal(d.submitted.length, 1);
  d.submitted[0].future.setResult('ok');
  assert.deepEqual(await it.next(), { done: false, value: 'ok' });
  await assert.rejects(it.next(), /input broke/);
});

test('a slow async input does not hold back a result that is ready', { timeout: 10_000 }, async () => {
  const d = driver();
  let release!: () => void;
  const blocked = new Promise<void>((r) => (release = r));
  async function* slowInput() {
    yield 1;
    await blocked;
    yield 2;
  }
  const it = new MapAsCompleted<unknown>(zipInputs([slowInput()]), d.submit, 10)[Symbol.asyncIterator]();
  await tick();
  d.submitted[0].future.setResult('first');
  assert.deepEqual(await it.next(), { done: false, value: 'first' });
  release();
  const second = it.next();
  await tick();
  d.submitted[1].future.setResult('second');
  assert.deepEqual(await second, { done: false, value: 'second' });
  assert.deepEqual(await it.next(), { done: true, value: undefined });
});

// 10,000 items prove the bound as well as a million (npm run bench -- memory streams a million).
test('streams a 10,000-item generator with at most inFlight tasks outstanding', { timeout: 60_000 }, async () => {
  const N = 10_000;
  const inFlight = 64;
  let pulled = 0;
  function* numbers() {
    for (let i = 0; i < N; i++) {
      pulled++;
      yield i;
    }
  }
  let yielded = 0;
  let worst = 0;
  const submit = (args: unknown[]) => {
    const f = new Future<number>();
    // Settle out of order within a batch: odd items a turn later than even ones.
    const x = args[0] as number;
    if (x % 2 === 0) f.setResult(x);
    else queueMicrotask(() => f.setResult(x));
    worst = Math.max(worst, pulled - yielded);
    return f;
  };
  let sum = 0;
  for await (const x of new MapAsCompleted<number>(zipInputs([numbers()]), submit, inFlight)) {
    yielded++;
    sum += x;
  }
  assert.equal(yielded, N);
  assert.equal(sum, (N * (N - 1)) / 2);
  // +1: the map refills as it hands a value out, a moment before the loop body counts it.
  assert.ok(worst <= inFlight + 1, `at most ${inFlight} submitted and not yielded (saw ${worst})`);
});

test('rejects a non-positive inFlight', { timeout: 10_000 }, () => {
  assert.throws(() => new MapAsCompleted<unknown>(zipInputs([[1]]), driver().submit, 0), TypeError);
});
