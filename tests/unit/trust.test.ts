import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SPOT_CHECK_FLOOR, TRUST_AFTER, TrustBook, checkChance } from '../../coordinator/trust.ts';

test('a new identity is untrusted and every result of it is checked', () => {
  const book = new TrustBook(() => 0.999);
  assert.equal(book.shouldCheck('new'), true);
  assert.deepEqual(book.standing('new'), { checked: 0, agreed: 0, trusted: false, quarantined: false });
});

test('after a run of agreeing checks it is trusted and checked less and less, down to the floor', () => {
  const book = new TrustBook(() => 0.999);
  for (let i = 0; i < TRUST_AFTER; i++) book.agreed('p');
  assert.equal(book.standing('p').trusted, true);
  assert.equal(book.shouldCheck('p'), false);
  const chances = [5, 6, 10, 20, 100, 10_000].map((streak) => checkChance({ streak, quarantined: false }));
  for (let i = 1; i < chances.length; i++) assert.ok(chances[i] <= chances[i - 1]);
  assert.equal(chances.at(-1), SPOT_CHECK_FLOOR);
  assert.ok(chances[0] < 1);
});

test('a spot check is drawn from the random source', () => {
  let r = 0.01;
  const book = new TrustBook(() => r);
  for (let i = 0; i < 100; i++) book.agreed('p');
  assert.equal(book.shouldCheck('p'), true);
  r = 0.5;
  assert.equal(book.shouldCheck('p'), false);
});

test('losing a quorum quarantines for good', () => {
  const book = new TrustBook(() => 0.999);
  for (let i = 0; i < 10; i++) book.agreed('p');
  assert.equal(book.standing('p').trusted, true);
  assert.equal(book.lost('p'), true);
  assert.equal(book.standing('p').trusted, false);
  assert.equal(book.shouldCheck('p'), true);
  assert.equal(book.lost('p'), false);
  assert.equal(book.quarantinedCount, 1);
  for (let i = 0; i < 10; i++) book.agreed('p');
  assert.deepEqual(book.standing('p'), { checked: 22, agreed: 20, trusted: false, quarantined: true });
  assert.equal(book.isQuarantined('p'), true);
});

test('changed() lists each identity whose record moved, once', () => {
  const book = new TrustBook();
  book.agreed('a');
  book.agreed('a');
  book.lost('b');
  assert.deepEqual(book.changed().sort(), ['a', 'b']);
  assert.deepEqual(book.changed(), []);
});

test('restored records stand as they were, counted once; every move is told to onRecord', () => {
  const book = new TrustBook(() => 0.99);
  const told: [string, boolean, number][] = [];
  book.onRecord = (identity, r) => void told.push([identity, r.quarantined, r.streak]);
  const records = [
    { identity: 'liar', checked: 2, agreed: 1, streak: 0, quarantined: true },
    { identity: 'honest', checked: 9, agreed: 9, streak: 9, quarantined: false },
  ];
  book.restore(records);
  book.restore(records);
  assert.equal(book.quarantinedCount, 1, 'a record restored twice counts once');
  assert.equal(book.isQuarantined('liar'), true);
  assert.deepEqual(book.standing('honest'), { checked: 9, agreed: 9, trusted: true, quarantined: false });
  assert.equal(book.shouldCheck('honest'), false, 'a trusted record is spot-checked, not checked every time');
  assert.deepEqual(told, [], 'restoring is not a move');
  book.agreed('honest');
  assert.equal(book.lost('honest'), true);
  assert.equal(book.lost('liar'), false, 'already quarantined');
  assert.deepEqual(told, [['honest', false, 10], ['honest', true, 0], ['liar', true, 0]]);
  assert.equal(book.quarantinedCount, 2);
});
