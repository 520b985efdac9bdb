import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Quorum, fixedCap, type Context } from '../../coordinator/quorum.ts';

const same = (a: number, b: number) => a === b;
const one: Context = { multiAddress: false, shouldCheck: () => true };
const v = (identity: string, outcome: number, address = '10.0.0.1') => ({ identity, address, outcome });

test('verify 2: two agreeing results are accepted; neither is a loser', () => {
  const q = new Quorum<number>({ kind: 'fixed', n: 2 }, same);
  assert.equal(q.start(), 2);
  assert.equal(q.vote(v('a', 4), one).kind, 'pending');
  const verdict = q.vote(v('b', 4), one);
  assert.equal(verdict.kind, 'accept');
  assert.ok(verdict.kind === 'accept' && verdict.outcome === 4 && verdict.losers.length === 0 && verdict.checked);
});

test('verify 2: a disagreement runs one more replica, and the odd one out loses', () => {
  const q = new Quorum<number>({ kind: 'fixed', n: 2 }, same);
  q.start();
  q.vote(v('a', 4), one);
  const more = q.vote(v('liar', 5), one);
  assert.deepEqual(more, { kind: 'more', count: 1 });
  q.launchedMore(1);
  const verdict = q.vote(v('c', 4), one);
  assert.ok(verdict.kind === 'accept');
  assert.equal(verdict.outcome, 4);
  assert.deepEqual(
    verdict.losers.map((l) => l.identity),
    ['liar'],
  );
});

test('verify 3 accepts two of three agreeing without waiting for the third', () => {
  const q = new Quorum<number>({ kind: 'fixed', n: 3 }, same);
  assert.equal(q.start(), 3);
  q.vote(v('a', 1), one);
  const verdict = q.vote(v('b', 1), one);
  assert.equal(verdict.kind, 'accept');
  assert.equal(q.inFlight, 1);
});

test('no quorum within the cap fails, naming the distinct results', () => {
  const q = new Quorum<number>({ kind: 'fixed', n: 2 }, same);
  q.start();
  let verdict = q.vote(v('a', 1), one);
  let next = 2;
  for (const id of ['b', 'c', 'd', 'e']) {
    verdict = q.vote(v(id, next++), one);
    if (verdict.kind === 'more') q.launchedMore(verdict.count);
  }
  assert.equal(q.launched, fixedCap(2));
  assert.deepEqual({ kind: verdict.kind, distinct: verdict.kind === 'fail' && verdict.distinct, runs: verdict.kind === 'fail' && verdict.runs }, { kind: 'fail', distinct: 5, runs: 5 });
});

test('two identities on one address count once when the grid spans addresses', () => {
  const multi: Context = { multiAddress: true, shouldCheck: () => true };
  const q = new Quorum<number>({ kind: 'fixed', n: 2 }, same);
  q.start();
  q.vote(v('tab1', 9, '10.0.0.7'), multi);
  const verdict = q.vote(v('tab2', 9, '10.0.0.7'), multi);
  assert.deepEqual(verdict, { kind: 'more', count: 1 });
  q.launchedMore(1);
  assert.equal(q.vote(v('other', 9, '10.0.0.8'), multi).kind, 'accept');
  // On a grid of one address, identities count.
  const local = new Quorum<number>({ kind: 'fixed', n: 2 }, same);
  local.start();
  local.vote(v('tab1', 9, '127.0.0.1'), one);
  assert.equal(local.vote(v('tab2', 9, '127.0.0.1'), one).kind, 'accept');
});

test('a second vote from one identity is not counted', () => {
  const q = new Quorum<number>({ kind: 'fixed', n: 2 }, same);
  q.start();
  q.vote(v('a', 1), one);
  const verdict = q.vote(v('a', 1), one);
  assert.deepEqual(verdict, { kind: 'more', count: 1 });
});

test('adaptive: an unchecked result is accepted alone; a checked one needs an agreeing other', () => {
  const trusted = new Quorum<number>({ kind: 'adaptive' }, same);
  assert.equal(trusted.start(), 1);
  const alone = trusted.vote(v('t', 3), { multiAddress: false, shouldCheck: () => false });
  assert.ok(alone.kind === 'accept' && !alone.checked);

  const checked = new Quorum<number>({ kind: 'adaptive' }, same);
  checked.start();
  assert.deepEqual(checked.vote(v('u', 3), one), { kind: 'more', count: 1 });
  checked.launchedMore(1);
  const verdict = checked.vote(v('w', 3), one);
  assert.ok(verdict.kind === 'accept' && verdict.checked && verdict.winners.length === 2);
});

test('adaptive: the check is drawn once, at the first result', () => {
  let draws = 0;
  const ctx: Context = { multiAddress: false, shouldCheck: () => (draws++, true) };
  const q = new Quorum<number>({ kind: 'adaptive' }, same);
  q.start();
  q.vote(v('a', 1), ctx);
  q.launchedMore(1);
  q.vote(v('b', 2), ctx);
  assert.equal(draws, 1);
});

test('a quarantined voter is discarded and its run no longer counts against the cap', () => {
  const q = new Quorum<number>({ kind: 'fixed', n: 2 }, same);
  q.start();
  q.vote(v('liar', 0), one);
  assert.equal(q.discard('liar'), true);
  assert.equal(q.launched, 1);
  assert.deepEqual(q.decide(one), { kind: 'pending' });
  q.vote(v('b', 1), one);
  assert.deepEqual(q.decide(one), { kind: 'more', count: 1 });
});

test('replicas that end without a result are replaced, up to the cap', () => {
  const q = new Quorum<number>({ kind: 'adaptive' }, same);
  q.start();
  for (let i = 1; i < 5; i++) {
    assert.deepEqual(q.ended(one), { kind: 'more', count: 1 });
    q.launchedMore(1);
  }
  assert.deepEqual(q.ended(one), { kind: 'fail', distinct: 0, runs: 0, votes: [] });
});
