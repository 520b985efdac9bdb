import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler } from '../../coordinator/scheduler.ts';

const noPrefetch = () => 0;
const onePrefetch = () => 1;

test('tasks go to pages up to their threads plus prefetch, spread round robin', () => {
  const s = new Scheduler({ prefetch: onePrefetch });
  s.addPage('a', 2);
  s.addPage('b', 2);
  for (let i = 1; i <= 10; i++) s.enqueue(i);
  const out = s.dispatch();
  assert.deepEqual(out.get('a'), [1, 3, 5]);
  assert.deepEqual(out.get('b'), [2, 4, 6]);
  assert.equal(s.queuedCount, 4);
  assert.equal(s.assignedCount, 6);
  assert.equal(s.dispatch().size, 0, 'no room until a task finishes');
  assert.equal(s.finish(3, 'a'), true);
  assert.deepEqual(s.dispatch().get('a'), [7]);
});

test('a small queue spreads across pages instead of filling the first', () => {
  const s = new Scheduler({ prefetch: () => 8 });
  s.addPage('a', 1);
  s.addPage('b', 1);
  s.enqueue(1);
  s.enqueue(2);
  const out = s.dispatch();
  assert.deepEqual(out.get('a'), [1]);
  assert.deepEqual(out.get('b'), [2]);
});

test('a lost page hands back its tasks, which are requeued ahead of fresh ones', () => {
  const s = new Scheduler({ prefetch: noPrefetch });
  s.addPage('a', 2);
  for (let i = 1; i <= 4; i++) s.enqueue(i);
  assert.deepEqual(s.dispatch().get('a'), [1, 2]);
  const held = s.removePage('a');
  assert.deepEqual(held, [1, 2]);
  assert.equal(s.assignedCount, 0);
  for (const id of held) s.requeue(id);
  s.addPage('b', 3);
  assert.deepEqual(s.dispatch().get('b'), [1, 2, 3]);
  assert.equal(s.finish(1, 'a'), false, 'a late result from the lost page is refused');
  assert.equal(s.finish(1, 'b'), true);
  assert.equal(s.finish(1, 'b'), false, 'a task finishes once');
});

test('cancel removes a task wherever it is', () => {
  const s = new Scheduler({ prefetch: noPrefetch });
  s.addPage('a', 1);
  s.enqueue(1);
  s.enqueue(2);
  s.dispatch();
  assert.deepEqual(s.cancel(2), { where: 'queued' });
  assert.deepEqual(s.cancel(1), { where: 'assigned', pageId: 'a' });
  assert.deepEqual(s.cancel(1), { where: 'unknown' });
  assert.equal(s.queuedCount, 0);
  assert.equal(s.dispatch().size, 0);
});

test("the prefetch window grows with a page's measured rate", () => {
  let clock = 0;
  const s = new Scheduler({ now: () => clock });
  s.addPage('fast', 2);
  for (let i = 1; i <= 20_000; i++) s.enqueue(i);
  assert.equal(s.dispatch().get('fast')!.length, 2 + 4, 'unmeasured: threads plus twice the threads');
  // A task finishes every 0.1 ms: 10,000 tasks/s, so ~100 ms of work is 1,000 tasks.
  let next = 1;
  for (let k = 0; k < 3000; k++) {
    clock += 0.1;
    s.finish(next++, 'fast');
    for (const ids of s.dispatch().values()) void ids;
  }
  assert.ok(s.rateOf('fast') > 9000 && s.rateOf('fast') < 11000, `rate ${s.rateOf('fast')}`);
  assert.ok(s.assignedCount >= 1000, `holds ${s.assignedCount} tasks`);
});

test('no pages means tasks wait; counts stay consistent', () => {
  const s = new Scheduler();
  for (let i = 1; i <= 3000; i++) s.enqueue(i);
  assert.equal(s.dispatch().size, 0);
  s.addPage('a', 4);
  s.addPage('b', 2);
  assert.equal(s.threadCount, 6);
  let seen = 0;
  for (;;) {
    const out = s.dispatch();
    if (out.size === 0) break;
    for (const [page, ids] of out) for (const id of ids) (seen++, s.finish(id, page));
  }
  assert.equal(seen, 3000);
  assert.equal(s.queuedCount + s.assignedCount, 0);
  assert.throws(() => s.addPage('a', 1), /already known/);
});
