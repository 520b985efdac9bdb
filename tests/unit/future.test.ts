import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Future } from '../../futures/future.ts';
import { CancelledError, TimeoutError } from '../../futures/errors.ts';

test('pending -> running -> finished with a result', async () => {
  const f = new Future<number>();
  assert.equal(f.state, 'pending');
  assert.equal(f.done(), false);
  f.setRunning();
  assert.equal(f.running(), true);
  f.setResult(7);
  assert.equal(f.done(), true);
  assert.equal(f.running(), false);
  assert.equal(await f, 7);
  assert.equal(await f.result(), 7);
  assert.equal(await f.exception(), undefined);
});

test('an exception rejects await and is returned by exception()', async () => {
  const f = new Future<number>();
  const boom = new Error('boom');
  f.setException(boom);
  await assert.rejects(f.result(), boom);
  assert.equal(await f.exception(), boom);
});

test("exception() returns a task's own TimeoutError and CancelledError; only the wait's timeout and a cancelled future reject", async () => {
  const ranLong = new Future<number>();
  const overdue = new TimeoutError('task spin ran past its timeout of 200 ms');
  ranLong.setException(overdue);
  assert.equal(await ranLong.exception(), overdue);
  assert.equal(await ranLong.exception({ timeout: 10 }), overdue);
  const withdrawn = new Future<number>();
  const parentGone = new CancelledError('its parent task was withdrawn');
  withdrawn.setException(parentGone);
  assert.equal(await withdrawn.exception(), parentGone);

  const slow = new Future<number>();
  slow.setRunning();
  await assert.rejects(slow.exception({ timeout: 10 }), (e: unknown) => e instanceof TimeoutError && e !== overdue);
  slow.setException(overdue);
  assert.equal(await slow.exception({ timeout: 10 }), overdue);
});

test('settles exactly once: later results are ignored', async () => {
  const f = new Future<number>();
  f.setResult(1);
  f.setResult(2);
  f.setException(new Error('late'));
  assert.equal(await f, 1);
});

test('cancel works while pending, not once running or done', async () => {
  let asked = 0;
  const f = new Future<number>(() => (asked++, true));
  assert.equal(f.cancel(), true);
  assert.equal(f.cancel(), true, 'cancelling again still reports cancelled');
  assert.equal(asked, 1);
  assert.equal(f.cancelled(), true);
  assert.equal(f.done(), true);
  await assert.rejects(f.result(), CancelledError);
  await assert.rejects(f.exception(), CancelledError);

  const running = new Future<number>(() => true);
  running.setRunning();
  assert.equal(running.cancel(), false);
  const finished = new Future<number>(() => true);
  finished.setResult(1);
  assert.equal(finished.cancel(), false);
  const refused = new Future<number>(() => false);
  assert.equal(refused.cancel(), false);
  assert.equal(refused.state, 'pending');
});

test('result({timeout}) rejects with TimeoutError and leaves the future running', async () => {
  const f = new Future<number>();
  f.setRunning();
  await assert.rejects(f.result({ timeout: 10 }), TimeoutError);
  assert.equal(f.running(), true);
  f.setResult(3);
  assert.equal(await f.result({ timeout: 10 }), 3);
});

test('done callbacks run once on completion, and at once when added after', () => {
  const f = new Future<number>();
  const calls: string[] = [];
  f.addDoneCallback((x) => calls.push(`early:${x.done()}`));
  f.setResult(1);
  f.setResult(2);
  f.addDoneCallback(() => calls.push('late'));
  assert.deepEqual(calls, ['early:true', 'late']);
});

test('a throwing done callback is reported and does not stop the others', (t) => {
  const errors: unknown[] = [];
  t.mock.method(console, 'error', (...args: unknown[]) => errors.push(args));
  const f = new Future<number>();
  let ran = false;
  f.addDoneCallback(() => {
    throw new Error('callback bug');
  });
  f.addDoneCallback(() => (ran = true));
  f.setResult(1);
  assert.equal(ran, true);
  assert.equal(errors.length, 1);
  assert.match(String((errors[0] as unknown[])[1]), /callback bug/);
});

test('an unobserved failure is not an unhandled rejection', async () => {
  let unhandled = 0;
  const onUnhandled = () => unhandled++;
  process.on('unhandledRejection', onUnhandled);
  new Future<number>().setException(new Error('nobody listens'));
  await new Promise((r) => setImmediate(r));
  process.off('unhandledRejection', onUnhandled);
  assert.equal(unhandled, 0);
});

test('a running future is not withdrawn: cancel() asks nothing, stays false, and the result still comes', async () => {
  let asked = 0;
  const f = new Future<number>(() => (asked++, true));
  f.setRunning();
  assert.equal(f.cancel(), false);
  assert.equal(f.cancel(), false);
  assert.equal(asked, 0, 'the grid is not asked to withdraw a running task');
  assert.equal(f.cancelled(), false);
  f.setRunning();
  assert.equal(f.state, 'running', 'a repeated start changes nothing');
  f.setResult(5);
  assert.equal(await f, 5);
  f.setRunning();
  assert.equal(f.state, 'finished', 'a late start report does not reopen it');
});

test('onRunning: called once on start, at once if running, never if it ends first', () => {
  const calls: string[] = [];
  const f = new Future<number>();
  f.onRunning(() => calls.push('a'));
  f.onRunning(() => calls.push('b'));
  assert.equal(calls.length, 0);
  f.setRunning();
  f.setRunning();
  assert.deepEqual(calls, ['a', 'b']);
  f.onRunning(() => calls.push('c'));
  assert.deepEqual(calls, ['a', 'b', 'c']);

  const cancelled = new Future<number>(() => true);
  cancelled.onRunning(() => calls.push('never'));
  cancelled.cancel();
  cancelled.setRunning();
  cancelled.onRunning(() => calls.push('never'));
  assert.deepEqual(calls, ['a', 'b', 'c']);
});
