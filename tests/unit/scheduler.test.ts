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
  const { send } = s.dispatch();
  assert.deepEqual(send.get('a'), [1, 3, 5]);
  assert.deepEqual(send.get('b'), [2, 4, 6]);
  assert.equal(s.queuedCount, 4);
  assert.equal(s.assignedCount, 6);
  assert.equal(s.dispatch().send.size, 0, 'no room until a task finishes');
  assert.deepEqual(s.finish(3, 'a'), []);
  assert.deepEqual(s.dispatch().send.get('a'), [7]);
});

test('a small queue spreads across pages instead of filling the first', () => {
  const s = new Scheduler({ prefetch: () => 8 });
  s.addPage('a', 1);
  s.addPage('b', 1);
  s.enqueue(1);
  s.enqueue(2);
  const { send } = s.dispatch();
  assert.deepEqual(send.get('a'), [1]);
  assert.deepEqual(send.get('b'), [2]);
});

test('a lost page hands back its tasks, which are requeued ahead of fresh ones', () => {
  const s = new Scheduler({ prefetch: noPrefetch });
  s.addPage('a', 2);
  for (let i = 1; i <= 4; i++) s.enqueue(i);
  assert.deepEqual(s.dispatch().send.get('a'), [1, 2]);
  const held = s.removePage('a');
  assert.deepEqual(held, [1, 2]);
  assert.equal(s.assignedCount, 0);
  for (const id of held) s.requeue(id);
  s.addPage('b', 3);
  assert.deepEqual(s.dispatch().send.get('b'), [1, 2, 3]);
  assert.equal(s.finish(1, 'a'), undefined, 'a late result from the lost page is refused');
  assert.deepEqual(s.finish(1, 'b'), []);
  assert.equal(s.finish(1, 'b'), undefined, 'a task finishes once');
});

test('cancel removes a task wherever it is', () => {
  const s = new Scheduler({ prefetch: noPrefetch });
  s.addPage('a', 1);
  s.enqueue(1);
  s.enqueue(2);
  s.dispatch();
  assert.deepEqual(s.cancel(2), [], 'queued: no page to tell');
  assert.deepEqual(s.cancel(1), ['a']);
  assert.deepEqual(s.cancel(1), []);
  assert.equal(s.queuedCount, 0);
  assert.equal(s.dispatch().send.size, 0);
});

test('tasks blocked on subtasks free their slots', () => {
  const s = new Scheduler({ prefetch: noPrefetch });
  s.addPage('a', 1);
  s.enqueue(1);
  s.enqueue(2);
  assert.deepEqual(s.dispatch().send.get('a'), [1]);
  s.setLoad('a', { blocked: 1, ready: 0, local: 0 });
  assert.deepEqual(s.dispatch().send.get('a'), [2]);
});

test("a page's own subtasks fill its slots: it is sent nothing while they run", () => {
  const s = new Scheduler({ prefetch: noPrefetch });
  s.addPage('a', 2);
  s.enqueue(1);
  s.enqueue(2);
  s.enqueue(3);
  assert.deepEqual(s.dispatch().send.get('a'), [1, 2]);
  // Task 1 waits on two subtasks of its own, which run in both slots.
  s.finish(2, 'a');
  s.setLoad('a', { blocked: 1, ready: 0, local: 2 });
  assert.equal(s.dispatch().send.size, 0, 'two slots busy with local subtasks');
  s.setLoad('a', { blocked: 1, ready: 0, local: 1 });
  assert.deepEqual(s.dispatch().send.get('a'), [3]);
});

test('an idle page is told to steal ready subtasks over WebRTC when both ends can link', () => {
  const s = new Scheduler({ prefetch: noPrefetch, now: () => 0 });
  s.addPage('a', 1);
  s.addPage('b', 2);
  s.setPeer('a', true);
  s.setPeer('b', true);
  s.setLoad('a', { blocked: 1, ready: 5, local: 2 });
  const first = s.dispatch();
  assert.deepEqual(first.hints.get('b'), { from: 'a', max: 2 });
  assert.equal(first.releases.size, 0);
  assert.equal(s.dispatch().hints.size, 0, 'no second hint while the first is unanswered');
  s.stealAnswered('b', 'a', true);
  s.setLoad('b', { blocked: 0, ready: 0, local: 2 });
  assert.equal(s.dispatch().hints.size, 0, 'b is busy with what it stole');
});

test('without a WebRTC link the busy page releases its subtasks to the grid queue instead', () => {
  let now = 0;
  const s = new Scheduler({ prefetch: noPrefetch, now: () => now });
  s.addPage('a', 1);
  s.addPage('b', 1);
  s.setPeer('a', true);
  s.setLoad('a', { blocked: 1, ready: 3, local: 2 });
  // b never registered with the PeerServer.
  const d = s.dispatch();
  assert.equal(d.hints.size, 0);
  assert.deepEqual([...d.releases], [['a', 1]]);
  assert.equal(s.dispatch().releases.size, 0, 'what was asked for is not asked for twice');

  // Both can link, but the link failed once: that pair uses the queue from then on.
  now += 2000;
  s.setPeer('b', true);
  s.setLoad('a', { blocked: 1, ready: 3, local: 2 });
  assert.deepEqual(s.dispatch().hints.get('b'), { from: 'a', max: 1 });
  s.stealAnswered('b', 'a', false);
  s.setLoad('a', { blocked: 1, ready: 3, local: 2 });
  now += 2000;
  const after = s.dispatch();
  assert.equal(after.hints.size, 0);
  assert.deepEqual([...after.releases], [['a', 1]]);
});

test('a page with no idle slot steals nothing', () => {
  const s = new Scheduler({ prefetch: noPrefetch, now: () => 0 });
  s.addPage('a', 1);
  s.addPage('b', 1);
  s.setPeer('a', true);
  s.setPeer('b', true);
  s.setLoad('a', { blocked: 0, ready: 4, local: 1 });
  s.setLoad('b', { blocked: 0, ready: 0, local: 1 });
  const d = s.dispatch();
  assert.equal(d.hints.size + d.releases.size, 0);
});

test('an idle page steals tasks another page holds but has not started', () => {
  const s = new Scheduler({ prefetch: () => 6 });
  s.addPage('a', 1);
  for (let i = 1; i <= 7; i++) s.enqueue(i);
  assert.deepEqual(s.dispatch().send.get('a'), [1, 2, 3, 4, 5, 6, 7]);
  s.started(1, 'a');
  s.addPage('b', 2);
  const { send, revoke } = s.dispatch();
  assert.deepEqual(send.get('b'), [2, 3], 'two idle threads take two unstarted tasks');
  assert.deepEqual(revoke.get('a'), [2, 3]);
  assert.deepEqual(s.holdersOf(2), ['b']);
  assert.equal(s.finish(2, 'a'), undefined, 'the revoked copy no longer counts');
  assert.deepEqual(s.finish(2, 'b'), []);
  assert.equal(s.holdersOf(1)[0], 'a', 'a started task is not stolen');
});

test('idle threads back up the longest-running task; the first result wins', () => {
  let clock = 0;
  const s = new Scheduler({ prefetch: noPrefetch, now: () => clock, spawned: (id) => id === 3 });
  s.addPage('slow', 3);
  for (const id of [1, 2, 3]) s.enqueue(id);
  s.dispatch();
  for (const id of [1, 2, 3]) s.started(id, 'slow');
  clock = 100;
  s.addPage('fast', 3);
  assert.equal(s.dispatch().send.size, 0, 'not before the tasks have run a while');
  clock = 5000;
  const { send } = s.dispatch();
  assert.deepEqual(send.get('fast'), [1, 2], 'task 3 may not be copied');
  assert.deepEqual(s.holdersOf(1), ['slow', 'fast']);
  assert.deepEqual(s.finish(1, 'fast'), ['slow'], 'the slow copy is to be cancelled');
  assert.equal(s.finish(1, 'slow'), undefined);
  // Losing the backup page leaves the original running: nothing to requeue.
  assert.deepEqual(s.removePage('fast'), []);
  assert.deepEqual(s.holdersOf(2), ['slow']);
});

test("the prefetch window grows with a page's measured rate", () => {
  let clock = 0;
  const s = new Scheduler({ now: () => clock });
  s.addPage('fast', 2);
  for (let i = 1; i <= 20_000; i++) s.enqueue(i);
  assert.equal(s.dispatch().send.get('fast')!.length, 2 + 4, 'unmeasured: threads plus twice the threads');
  // A task finishes every 0.1 ms: 10,000 tasks/s, so ~100 ms of work is 1,000 tasks.
  let next = 1;
  for (let k = 0; k < 3000; k++) {
    clock += 0.1;
    s.finish(next++, 'fast');
    s.dispatch();
  }
  assert.ok(s.rateOf('fast') > 9000 && s.rateOf('fast') < 11000, `rate ${s.rateOf('fast')}`);
  assert.ok(s.assignedCount >= 1000, `holds ${s.assignedCount} tasks`);
});

test('no pages means tasks wait; counts stay consistent', () => {
  const s = new Scheduler();
  for (let i = 1; i <= 3000; i++) s.enqueue(i);
  assert.equal(s.dispatch().send.size, 0);
  s.addPage('a', 4);
  s.addPage('b', 2);
  assert.equal(s.threadCount, 6);
  let seen = 0;
  for (;;) {
    const { send } = s.dispatch();
    if (send.size === 0) break;
    for (const [page, ids] of send) {
      for (const id of ids) {
        seen++;
        s.finish(id, page);
      }
    }
  }
  assert.equal(seen, 3000);
  assert.equal(s.queuedCount + s.assignedCount, 0);
  assert.throws(() => s.addPage('a', 1), /already known/);
});

test('a page claiming 1024 threads holds 32 tasks until it completes some; each completion earns it two more', () => {
  const s = new Scheduler({ prefetch: noPrefetch });
  s.addPage('big', 1024);
  for (let i = 1; i <= 2000; i++) s.enqueue(i);
  const first = s.dispatch().send.get('big')!;
  assert.equal(first.length, 32);
  // It says all its tasks wait on subtasks: that frees no room past the bound.
  s.setLoad('big', { blocked: 1000, ready: 0, local: 0 });
  assert.equal(s.dispatch().send.size, 0);
  for (const id of first.slice(0, 10)) s.finish(id, 'big');
  assert.equal(s.dispatch().send.get('big')!.length, 10 + 20, 'the 10 finished are replaced, and 20 more');
  assert.equal(s.page('big')!.assigned.size, 52);
});

test('a task that spawned subtasks gets its copy after the long deadline, later while its page shows progress', () => {
  let clock = 0;
  const s = new Scheduler({ prefetch: noPrefetch, now: () => clock, spawned: (id) => id === 1, spawnedBackupMs: 10_000 });
  s.addPage('hoarder', 1);
  s.enqueue(1);
  s.dispatch();
  s.started(1, 'hoarder');
  s.addPage('honest', 1);
  clock = 9_999;
  assert.equal(s.dispatch().send.size, 0, 'not before the deadline');
  clock = 10_000;
  assert.deepEqual(s.dispatch().send.get('honest'), [1], 'copied at the deadline');

  const t = new Scheduler({ prefetch: noPrefetch, now: () => clock, spawned: () => true, spawnedBackupMs: 10_000 });
  clock = 0;
  t.addPage('busy', 1);
  t.enqueue(1);
  t.dispatch();
  t.started(1, 'busy');
  t.addPage('idle', 1);
  for (clock = 5_000; clock < 100_000; clock += 5_000) {
    t.progressed('busy');
    assert.equal(t.dispatch().send.size, 0, `its tree advances: no copy at ${clock} ms`);
  }
  t.progressed('busy');
  clock = 100_000;
  assert.deepEqual(t.dispatch().send.get('idle'), [1], 'progress puts the copy off ten times the deadline at most');
});

test('a page passes over queued tasks barred to it; they keep their place for the others', () => {
  // Even tasks are barred to page a (as a replica is to the page that ran its sibling).
  const s = new Scheduler({ prefetch: noPrefetch, eligible: (page, task) => page !== 'a' || task % 2 === 1 });
  s.addPage('a', 3);
  for (let i = 1; i <= 6; i++) s.enqueue(i);
  assert.deepEqual(s.dispatch().send.get('a'), [1, 3, 5]);
  assert.equal(s.queuedCount, 3);
  s.addPage('b', 3);
  assert.deepEqual(s.dispatch().send.get('b'), [2, 4, 6]);
});

test('steals, backups and needs respect what is barred', () => {
  let t = 0;
  const s = new Scheduler({ prefetch: () => 4, now: () => t, eligible: (page) => page !== 'b' });
  s.addPage('a', 1);
  for (let i = 1; i <= 4; i++) s.enqueue(i);
  s.dispatch();
  s.started(1, 'a');
  s.addPage('b', 2);
  t = 10_000;
  const out = s.dispatch();
  assert.equal(out.send.get('b'), undefined, 'b steals nothing and backs nothing up');
  assert.equal(out.revoke.size, 0);
});

test('a task the first page passes over goes to the next page in the same dispatch', () => {
  const s = new Scheduler({ prefetch: noPrefetch, eligible: (page) => page !== 'a' });
  s.addPage('a', 1);
  s.addPage('b', 1);
  s.enqueue(1);
  const { send } = s.dispatch();
  assert.equal(send.get('a'), undefined);
  assert.deepEqual(send.get('b'), [1]);
});
