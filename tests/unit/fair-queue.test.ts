import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FairQueue } from '../../coordinator/fair-queue.ts';
import { Scheduler } from '../../coordinator/scheduler.ts';

const A = { client: 'a', job: '' };
const B = { client: 'b', job: '' };

function takeN(q: FairQueue<number>, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = q.take();
    if (t === undefined) break;
    out.push(t);
  }
  return out;
}

test('one job keeps submission order, tasks queued again first', () => {
  const q = new FairQueue<number>();
  for (let i = 1; i <= 4; i++) q.enqueue(i);
  assert.deepEqual(takeN(q, 2), [1, 2]);
  q.requeue(2);
  assert.deepEqual(takeN(q, 5), [2, 3, 4]);
  assert.equal(q.size, 0);
});

test('two clients alternate, whoever submitted first', () => {
  const q = new FairQueue<number>();
  for (let i = 1; i <= 100; i++) q.enqueue(i, A);
  for (let i = 101; i <= 103; i++) q.enqueue(i, B);
  assert.deepEqual(takeN(q, 8), [1, 101, 2, 102, 3, 103, 4, 5]);
});

test('a new client is served before the one holding slots, until they hold alike', () => {
  const q = new FairQueue<number>();
  for (let i = 1; i <= 100; i++) q.enqueue(i, A);
  takeN(q, 6); // a holds 6
  for (let i = 101; i <= 110; i++) q.enqueue(i, B);
  q.remove(1); // one of a's finishes: its slot goes to b
  assert.deepEqual(takeN(q, 1), [101]);
  q.remove(2);
  q.remove(3);
  assert.deepEqual(takeN(q, 2), [102, 103]);
});

test("priority weighs a client's own jobs; clients still share equally", () => {
  const q = new FairQueue<number>();
  const hi = { client: 'a', job: 'hi', priority: 3 };
  const lo = { client: 'a', job: 'lo', priority: 1 };
  for (let i = 1; i <= 100; i++) q.enqueue(i, lo);
  for (let i = 101; i <= 200; i++) q.enqueue(i, hi);
  for (let i = 201; i <= 300; i++) q.enqueue(i, B);
  const got = takeN(q, 16);
  const count = (lo: number, hi: number) => got.filter((t) => t >= lo && t <= hi).length;
  assert.equal(count(201, 300), 8, 'client b gets half');
  assert.equal(count(101, 200), 6, "a's priority-3 job gets three quarters of a's half");
  assert.equal(count(1, 100), 2);
});

test('remove forgets queued and held tasks; an emptied job is forgotten', () => {
  const q = new FairQueue<number>();
  q.enqueue(1, A);
  q.enqueue(2, A);
  q.enqueue(3, B);
  assert.equal(q.remove(2), true, 'was queued');
  assert.equal(q.isQueued(2), false);
  assert.deepEqual(takeN(q, 5), [1, 3]);
  assert.equal(q.remove(1), false, 'was held');
  assert.equal(q.jobOf(1), undefined);
  assert.equal(q.jobOf(3), 'b\n');
  assert.throws(() => q.enqueue(3, B), /already/);
  q.remove(3);
  q.enqueue(3, B);
  assert.deepEqual(takeN(q, 5), [3]);
});

test('rebalance names the jobs over their share while another is due slots', () => {
  const q = new FairQueue<number>();
  for (let i = 1; i <= 100; i++) q.enqueue(i, A);
  takeN(q, 12);
  assert.equal(q.rebalance().due, 0, 'alone, a is at its share');
  for (let i = 101; i <= 110; i++) q.enqueue(i, B);
  const r = q.rebalance();
  assert.equal(r.due, 6, 'b is due half of the 12 held slots');
  assert.equal(r.excess.get('a\n'), 6);
});

test('the scheduler takes back unstarted prefetched tasks of a job over its share', () => {
  const s = new Scheduler({ prefetch: () => 10 });
  s.addPage('p', 2);
  for (let i = 1; i <= 100; i++) s.enqueue(i, A);
  assert.equal(s.dispatch().send.get('p')?.length, 12);
  s.started(1, 'p');
  s.started(2, 'p');
  for (let i = 101; i <= 110; i++) s.enqueue(i, B);
  const { send, revoke } = s.dispatch();
  assert.deepEqual(revoke.get('p'), [12, 11, 10, 9, 8, 7], "a's newest unstarted tasks come back");
  assert.deepEqual(send.get('p'), [101, 102, 103, 104, 105, 106]);
  assert.equal(s.assignedCount, 12);
  // Each freed slot goes to whichever holds less: a's requeued tasks come first in a's turn.
  s.finish(101, 'p');
  assert.deepEqual(s.dispatch().send.get('p'), [107]);
  s.finish(1, 'p');
  assert.deepEqual(s.dispatch().send.get('p'), [7]);
  // Once b holds its share nothing more moves.
  const again = s.dispatch();
  assert.equal(again.revoke.size, 0);
  assert.equal(again.send.size, 0);
});

test('a lone client is never rebalanced against itself', () => {
  const s = new Scheduler({ prefetch: () => 4 });
  s.addPage('p', 1);
  for (let i = 1; i <= 10; i++) s.enqueue(i, A);
  s.dispatch();
  s.finish(1, 'p');
  const { send, revoke } = s.dispatch();
  assert.equal(revoke.size, 0);
  assert.deepEqual(send.get('p'), [6]);
});

test("a held client's tasks wait (its results pile up unread) while others' go on", () => {
  const s = new Scheduler({ prefetch: () => 0 });
  s.addPage('p', 2);
  for (let i = 1; i <= 3; i++) s.enqueue(i, A);
  for (let i = 11; i <= 13; i++) s.enqueue(i, B);
  s.holdClient('a', true);
  assert.deepEqual(s.dispatch().send.get('p'), [11, 12]);
  s.finish(11, 'p');
  assert.deepEqual(s.dispatch().send.get('p'), [13]);
  s.finish(12, 'p');
  assert.equal(s.dispatch().send.size, 0, "only a's tasks are left, and they wait");
  assert.equal(s.queuedCount, 3);
  s.holdClient('a', false);
  assert.deepEqual(s.dispatch().send.get('p'), [1]);
});
