// mapReduce's reduction tree, with futures settled by hand in shuffled orders.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Future } from '../../futures/future.ts';
import { mapReduce } from '../../futures/map-reduce.ts';
import { zipInputs } from '../../futures/inputs.ts';
import { tick, prng } from '../helpers/futures.ts';

/** A submit that settles each future a turn later, like a remote worker. */
function asyncSubmit<A extends unknown[], R>(fn: (...args: A) => R, calls: { n: number }) {
  return (...args: A): Future<R> => {
    calls.n++;
    const f = new Future<R>(() => true);
    setImmediate(() => f.setResult(fn(...args)));
    return f;
  };
}

test('squares of [10, 20, 30] reduce to 1400', { timeout: 10_000 }, async () => {
  const maps = { n: 0 };
  const reduces = { n: 0 };
  const square = asyncSubmit((args: unknown[]) => (args[0] as number) ** 2, maps);
  const add = asyncSubmit((a: number, b: number) => a + b, reduces);
  assert.equal(await mapReduce(zipInputs([[10, 20, 30]]), square, add, 4), 1400);
  assert.equal(maps.n, 3);
  assert.equal(reduces.n, 2);
});

test('one element is its map result, with no reduce', { timeout: 10_000 }, async () => {
  const reduces = { n: 0 };
  const square = asyncSubmit((args: unknown[]) => (args[0] as number) ** 2, { n: 0 });
  const add = asyncSubmit((a: number, b: number) => a + b, reduces);
  assert.equal(await mapReduce(zipInputs([[7]]), square, add, 4), 49);
  assert.equal(reduces.n, 0);
});

test('an empty input rejects with TypeError', { timeout: 10_000 }, async () => {
  const id = asyncSubmit((args: unknown[]) => args[0], { n: 0 });
  const add = asyncSubmit((a: unknown, b: unknown): unknown => [a, b], { n: 0 });
  await assert.rejects(mapReduce(zipInputs([[]]), id, add, 4), {
    name: 'TypeError',
    message: 'mapReduce of an empty input has no value',
  });
});

test('a non-commutative reduce equals a left-to-right reduce, in any completion order (lengths 1..40)', { timeout: 10_000 }, async () => {
  const random = prng(1400);
  for (let length = 1; length <= 40; length++) {
    const inFlight = 1 + Math.floor(random() * 8);
    const words = Array.from({ length }, (_, i) => `w${i};`);
    // Every submitted future waits in `open` until the loop below settles it.
    const open: { future: Future<string>; value: string }[] = [];
    let maps = 0;
    let mapsOutstanding = 0;
    let worst = 0;
    let reduces = 0;
    const submitMap = (args: unknown[]) => {
      maps++;
      worst = Math.max(worst, ++mapsOutstanding);
      const future = new Future<string>(() => true);
      future.addDoneCallback(() => mapsOutstanding--);
      open.push({ future, value: (args[0] as string).toUpperCase() });
      return future;
    };
    const submitReduce = (a: string, b: string) => {
      reduces++;
      const future = new Future<string>(() => true);
      open.push({ future, value: a + b });
      return future;
    };
    let settled = false;
    const result = mapReduce(zipInputs([words]), submitMap, submitReduce, inFlight).finally(() => (settled = true));
    await tick();
    while (!settled) {
      assert.ok(open.length > 0, `length ${length}: stalled with nothing to settle`);
      const [next] = open.splice(Math.floor(random() * open.length), 1);
      next.future.setResult(next.value);
      await tick();
    }
    assert.equal(await result, words.join('').toUpperCase(), `length ${length}, inFlight ${inFlight}`);
    assert.equal(maps, length);
    assert.equal(reduces, length - 1);
    assert.ok(worst <= inFlight, `length ${length}: ${worst} map tasks outstanding, inFlight ${inFlight}`);
    assert.equal(open.length, 0, 'nothing left submitted');
  }
});

test('a failed map rejects and cancels what is outstanding', { timeout: 10_000 }, async () => {
  const submitted: Future<number>[] = [];
  const submitMap = () => {
    const f = new Future<number>(() => true);
    submitted.push(f);
    return f;
  };
  const submitReduce = (a: number, b: number) => {
    const f = new Future<number>(() => true);
    f.setResult(a + b);
    return f;
  };
  const result = mapReduce(zipInputs([[1, 2, 3, 4]]), submitMap, submitReduce, 10);
  await tick();
  assert.equal(submitted.length, 4);
  submitted[0].setResult(1);
  submitted[2].setException(new Error('map broke'));
  await assert.rejects(result, /map broke/);
  assert.equal(submitted[1].cancelled(), true);
  assert.equal(submitted[3].cancelled(), true);
});

test('a failed reduce rejects and cancels what is outstanding', { timeout: 10_000 }, async () => {
  const maps: Future<number>[] = [];
  const submitMap = () => {
    const f = new Future<number>(() => true);
    maps.push(f);
    return f;
  };
  const submitReduce = () => {
    const f = new Future<number>();
    queueMicrotask(() => f.setException(new Error('reduce broke')));
    return f;
  };
  const result = mapReduce(zipInputs([[1, 2, 3]]), submitMap, submitReduce, 10);
  await tick();
  maps[0].setResult(1);
  maps[1].setResult(2);
  await assert.rejects(result, /reduce broke/);
  assert.equal(maps[2].cancelled(), true);
});

test('an input that throws rejects and cancels what is outstanding', { timeout: 10_000 }, async () => {
  const maps: Future<number>[] = [];
  const submitMap = () => {
    const f = new Future<number>(() => true);
    maps.push(f);
    return f;
  };
  function* broken() {
    yield 1;
    throw new Error('input broke');
  }
  const result = mapReduce(zipInputs([broken()]), submitMap, () => new Future<number>(), 10);
  await assert.rejects(result, /input broke/);
  assert.equal(maps.length, 1);
  assert.equal(maps[0].cancelled(), true);
});
