// A failing map names the input whose task failed (error.index), keeping
// the error's class; and mapAsCompleted keeps pulling with a small inFlight.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Future } from '../../futures/future.ts';
import { MapResult } from '../../futures/map-result.ts';
import { MapAsCompleted } from '../../futures/map-as-completed.ts';
import { mapReduce } from '../../futures/map-reduce.ts';
import { zipInputs } from '../../futures/inputs.ts';
import { RemoteError, TimeoutError } from '../../futures/errors.ts';
import { atInput } from '../../futures/map-errors.ts';
import { tick } from '../helpers/futures.ts';

const inputs = Array.from({ length: 100 }, (_, i) => i);
const BAD = 73;

/** A submit that settles each task soon: input BAD fails as a page would report it. */
function submitSoon(args: unknown[]): Future<unknown> {
  const f = new Future<unknown>(() => true);
  setImmediate(() => {
    if (args[0] === BAD) f.setException(new RemoteError({ name: 'RangeError', message: `no ${BAD}`, stack: `RangeError: no ${BAD}\n    at task` }));
    else f.setResult(args[0]);
  });
  return f;
}

function isBadInput(e: unknown): boolean {
  assert.ok(e instanceof RemoteError, 'the class is kept');
  assert.equal((e as { index?: number }).index, BAD);
  assert.equal(e.message, `map input ${BAD} failed: RangeError: no ${BAD}`);
  assert.equal(e.remoteMessage, `no ${BAD}`, 'the remote fields are kept');
  assert.match(e.stack!, new RegExp(`^RemoteError: map input ${BAD} failed: RangeError: no ${BAD}\\n`));
  return true;
}

test('map over 100 inputs, one failing: rejects with error.index and the index in the message', async () => {
  await assert.rejects(Promise.resolve(new MapResult(zipInputs([inputs]), submitSoon, 16)), isBadInput);
  const it = new MapResult(zipInputs([inputs]), submitSoon, 16)[Symbol.asyncIterator]();
  for (let i = 0; i < BAD; i++) assert.deepEqual(await it.next(), { done: false, value: i });
  await assert.rejects(it.next(), isBadInput);
});

test('mapAsCompleted and mapReduce name the failing input too', async () => {
  await assert.rejects(
    (async () => {
      for await (const _ of new MapAsCompleted(zipInputs([inputs]), submitSoon, 16)) void _;
    })(),
    isBadInput,
  );
  const add = (a: unknown, b: unknown) => {
    const f = new Future<unknown>(() => true);
    setImmediate(() => f.setResult((a as number) + (b as number)));
    return f;
  };
  await assert.rejects(mapReduce(zipInputs([inputs]), submitSoon, add, 16), isBadInput);
});

test("an input that throws is the caller's own error, passed as is", async () => {
  const broke = new Error('input broke');
  function* broken() {
    yield 1;
    throw broke;
  }
  const it = new MapResult(zipInputs([broken()]), submitSoon, 4)[Symbol.asyncIterator]();
  assert.deepEqual(await it.next(), { done: false, value: 1 });
  await assert.rejects(it.next(), (e: unknown) => e === broke && !('index' in broke));
});

test('one error object reaching several maps is copied for each, never changed', () => {
  const shared = new TimeoutError('no answer');
  const a = atInput(shared, 3) as TimeoutError & { index: number };
  const b = atInput(shared, 8) as TimeoutError & { index: number };
  assert.ok(a instanceof TimeoutError && b instanceof TimeoutError);
  assert.deepEqual([a.index, b.index], [3, 8]);
  assert.equal(shared.message, 'no answer');
  assert.equal('index' in shared, false);
  assert.equal(atInput('a string', 1), 'a string');
  const blank = atInput(new Error(''), 2) as Error;
  assert.equal(blank.message, 'map input 2 failed: ');
});

test('mapAsCompleted with inFlight below the input count yields every result (all in flight while it waits)', { timeout: 10_000 }, async () => {
  const got: unknown[] = [];
  const ok = (args: unknown[]) => {
    const f = new Future<unknown>(() => true);
    setImmediate(() => f.setResult(args[0]));
    return f;
  };
  for await (const y of new MapAsCompleted(zipInputs([Array.from({ length: 23 }, (_, i) => i)]), ok, 6)) got.push(y);
  assert.equal(got.length, 23);
  await tick();
});
