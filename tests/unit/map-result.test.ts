// The ordered, bounded streaming of map, driven by futures settled by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MapResult } from '../../futures/map-result.ts';
import { zipInputs } from '../../futures/inputs.ts';
import { tick, driver } from '../helpers/futures.ts';

test('zips several inputs and stops at the shortest', () => {
  const next = zipInputs([[1, 2, 3], new Set(['a', 'b'])]);
  assert.deepEqual([next(), next(), next()], [[1, 'a'], [2, 'b'], undefined]);
  assert.throws(() => zipInputs([]), /at least one/);
  assert.throws(() => zipInputs([42]), /not iterable/);
});

test('async iterables are zipped too', async () => {
  async function* gen() {
    yield 1;
    yield 2;
  }
  const next = zipInputs([gen(), [10, 20, 30]]);
  assert.deepEqual([await next(), await next(), await next()], [[1, 10], [2, 20], undefined]);
});

test('keeps at most inFlight tasks ahead of the consumer, and yields in input order', async () => {
  const d = driver();
  function* endless() {
    for (let i = 0; ; i++) yield i;
  }
  const result = new MapResult<unknown>(zipInputs([endless()]), d.submit, 3);
  await tick();
  assert.equal(d.submitted.length, 3);
  const it = result[Symbol.asyncIterator]();
  d.submitted[1].future.setResult('one');
  d.submitted[0].future.setResult('zero');
  assert.deepEqual(await it.next(), { done: false, value: 'zero' });
  await tick();
  assert.equal(d.submitted.length, 4, 'one more submitted once one was consumed');
  assert.deepEqual(await it.next(), { done: false, value: 'one' });
  await it.return!();
  assert.equal(d.submitted[2].future.cancelled(), true, 'breaking out cancels what is in flight');
});

test('awaiting collects all results in input order', async () => {
  const d = driver();
  const result = new MapResult<unknown>(zipInputs([[1, 2, 3]]), d.submit, 10);
  const all = result.then((xs) => xs);
  await tick();
  for (const { args, future } of [...d.submitted].reverse()) future.setResult((args[0] as number) * 10);
  assert.deepEqual(await all, [10, 20, 30]);
  assert.throws(() => result[Symbol.asyncIterator](), /once/);
});

test('a failed task rejects the map and cancels the rest', async () => {
  const d = driver();
  const result = new MapResult<unknown>(zipInputs([[1, 2, 3]]), d.submit, 10);
  const all = result.then((xs) => xs);
  await tick();
  d.submitted[0].future.setException(new Error('bad'));
  await assert.rejects(all, /bad/);
  assert.equal(d.submitted[2].future.cancelled(), true);
});

test('an input that throws fails the map at that point', async () => {
  const d = driver();
  function* broken() {
    yield 1;
    throw new Error('input broke');
  }
  const result = new MapResult<unknown>(zipInputs([broken()]), d.submit, 10);
  const it = result[Symbol.asyncIterator]();
  await tick();
  d.submitted[0].future.setResult('ok');
  assert.deepEqual(await it.next(), { done: false, value: 'ok' });
  await assert.rejects(it.next(), /input broke/);
});
