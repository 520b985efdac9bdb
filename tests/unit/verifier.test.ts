import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Verifier, sameOutcome, type PageSeat } from '../../coordinator/verifier.ts';
import type { TaskId } from '../../coordinator/ids.ts';
import type { TaskOutcome } from '../../protocol/messages.ts';

const id = (n: number) => n as TaskId;
const ok = (v: number): TaskOutcome => ({ id: 0, ok: true, value: new Uint8Array([v]) });
const seat = (identity: string, address = '10.0.0.1'): PageSeat => ({ identity, address });
const nobody = () => [] as PageSeat[];

test('outcomes agree on equal bytes, or errors of one name and message', () => {
  assert.ok(sameOutcome(ok(1), ok(1)));
  assert.ok(!sameOutcome(ok(1), ok(2)));
  const e = (message: string): TaskOutcome => ({ id: 0, ok: false, error: { name: 'Error', message, stack: String(Math.random()) } });
  assert.ok(sameOutcome(e('x'), e('x')), 'stacks differ between browsers and do not count');
  assert.ok(!sameOutcome(e('x'), e('y')));
  assert.ok(!sameOutcome(e('x'), ok(1)));
});

test("a handle's verify overrides the grid's default, 'off' included", () => {
  const v = new Verifier({ kind: 'adaptive' });
  assert.deepEqual(v.modeFor(undefined), { kind: 'adaptive' });
  assert.equal(v.modeFor('off'), undefined);
  assert.deepEqual(v.modeFor(3), { kind: 'fixed', n: 3 });
  assert.equal(new Verifier(undefined).modeFor(undefined), undefined);
});

test('a replica never runs where a sibling ran or runs, nor on a quarantined identity', () => {
  const v = new Verifier(undefined);
  for (const s of [seat('a'), seat('b'), seat('c')]) v.pageJoined(s);
  assert.equal(v.open(id(1), { kind: 'fixed', n: 2 }), 2);
  v.addReplica(id(1), id(2));
  v.addReplica(id(1), id(3));
  const holders = (t: TaskId) => (t === id(2) ? [seat('a')] : []);
  assert.equal(v.eligible(id(3), seat('a'), holders), false, 'a holds its sibling');
  assert.equal(v.eligible(id(3), seat('b'), holders), true);
  v.vote(id(2), seat('a'), ok(1));
  assert.equal(v.eligible(id(3), seat('a'), nobody), false, 'a voted already');
  assert.equal(v.eligible(id(99), seat('a'), nobody), true, 'a task that is not a replica goes anywhere');
});

test('while another address is joined, a replica avoids the addresses its task used', () => {
  const v = new Verifier(undefined);
  const tab1 = seat('tab1', '10.0.0.7');
  const tab2 = seat('tab2', '10.0.0.7');
  const other = seat('other', '10.0.0.8');
  for (const s of [tab1, tab2, other]) v.pageJoined(s);
  v.open(id(1), { kind: 'fixed', n: 2 });
  v.addReplica(id(1), id(2));
  v.addReplica(id(1), id(3));
  const holders = (t: TaskId) => (t === id(2) ? [tab1] : []);
  assert.equal(v.eligible(id(3), tab2, holders), false);
  assert.equal(v.eligible(id(3), other, holders), true);
  // With every address used, another identity on a used one may run it.
  v.pageLeft(other);
  assert.equal(v.eligible(id(3), tab2, holders), true);
});

test('a loser is quarantined, its pages stop counting, and its votes elsewhere are discarded', () => {
  const v = new Verifier(undefined, () => 0.99);
  for (const s of [seat('a'), seat('b'), seat('liar')]) v.pageJoined(s);
  // Task 10: the liar voted; still open.
  v.open(id(10), { kind: 'fixed', n: 2 });
  v.addReplica(id(10), id(11));
  v.addReplica(id(10), id(12));
  v.vote(id(11), seat('liar'), ok(9));
  // Task 1: a and liar disagree, b breaks the tie.
  v.open(id(1), { kind: 'fixed', n: 2 });
  v.addReplica(id(1), id(2));
  v.addReplica(id(1), id(3));
  v.vote(id(2), seat('a'), ok(1));
  const more = v.vote(id(3), seat('liar'), ok(9));
  assert.deepEqual(more?.verdict, { kind: 'more', count: 1 });
  v.launched(id(1), 1);
  v.addReplica(id(1), id(4));
  const decided = v.vote(id(4), seat('b'), ok(1));
  assert.equal(decided?.verdict.kind, 'accept');
  if (decided?.verdict.kind !== 'accept') return;
  assert.deepEqual(v.settle(id(1), decided.verdict), ['liar']);
  assert.deepEqual(v.standing('liar'), { checked: 1, agreed: 0, trusted: false, quarantined: true });
  assert.equal(v.standing('a').agreed, 1);
  assert.equal(v.close(id(1)).length, 0);
  v.unseat(seat('liar'));
  assert.equal(v.eligibleIdentities, 2);
  assert.equal(v.eligible(id(12), seat('liar'), nobody), false);
  const again = v.requarantined('liar');
  assert.deepEqual(
    again.map((r) => [r.primary, r.verdict.kind]),
    [[id(10), 'pending']],
  );
  assert.deepEqual(v.stats(), { tasks: 1, runs: 4, extra: 3, agreements: 0, disagreements: 1, failed: 0, quarantined: 1, waiting: 0 });
});

test('waiting counts verify: n groups whose majority needs more identities than are joined', () => {
  const v = new Verifier(undefined);
  v.pageJoined(seat('a'));
  v.pageJoined(seat('b'));
  v.open(id(1), { kind: 'fixed', n: 5 });
  v.open(id(2), { kind: 'fixed', n: 3 });
  assert.equal(v.stats().waiting, 1, 'verify: 3 needs 2 agreeing pages; verify: 5 needs 3');
  v.pageJoined(seat('c'));
  assert.equal(v.stats().waiting, 0);
});
