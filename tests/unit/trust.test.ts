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

test('losing a quorum quarantines for good; an inconclusive check resets the streak', () => {
  const book = new TrustBook(() => 0.999);
  for (let i = 0; i < 10; i++) book.agreed('p');
  book.inconclusive('p');
  assert.equal(book.standing('p').trusted, false);
  assert.equal(book.shouldCheck('p'), true);
  assert.equal(book.lost('p'), true);
  assert.equal(book.lost('p'), false);
  assert.equal(book.quarantinedCount, 1);
  for (let i = 0; i < 10; i++) book.agreed('p');
  assert.deepEqual(book.standing('p'), { checked: 23, agreed: 20, trusted: false, quarantined: true });
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
