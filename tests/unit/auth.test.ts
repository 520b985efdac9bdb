import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, AuthThrottle, RateLimit, TokenGate, TokenSet, parseTokens } from '../../coordinator/auth.ts';

test('named tokens: the matching name, or undefined', () => {
  const set = new TokenSet({ alice: 'alice-secret-1', bob: 'bob-secret-22' });
  assert.equal(set.match('bob-secret-22'), 'bob');
  assert.equal(set.match('alice-secret-1'), 'alice');
  assert.equal(set.match('alice-secret-'), undefined);
  assert.equal(set.match(''), undefined);
  assert.throws(() => new TokenSet({ blank: '' }), /empty/);
  assert.throws(() => new TokenSet({}), /at least one/);
});

test('tokens parse from name=token lines, comma lists and JSON', () => {
  assert.deepEqual(parseTokens('# class of 2026\nalice=aaaa-1111\n bob = bbbb-2222 \n'), { alice: 'aaaa-1111', bob: 'bbbb-2222' });
  assert.deepEqual(parseTokens('alice=aaaa-1111,bob=bbbb-2222'), { alice: 'aaaa-1111', bob: 'bbbb-2222' });
  assert.deepEqual(parseTokens('{"carol": "cccc-3333"}'), { carol: 'cccc-3333' });
  assert.throws(() => parseTokens('no-equals-sign'), /name=token/);
  assert.throws(() => parseTokens('{"n": 5}'), /must be a string/);
});

test('an address that keeps failing is refused until its window passes', () => {
  let now = 0;
  const t = new AuthThrottle(3, 60_000, () => now);
  for (let i = 0; i < 3; i++) {
    assert.equal(t.retryAfter('1.2.3.4'), 0);
    t.failed('1.2.3.4');
  }
  assert.equal(t.retryAfter('1.2.3.4'), 60);
  assert.equal(t.retryAfter('5.6.7.8'), 0, 'other addresses are unaffected');
  now = 30_000;
  assert.equal(t.retryAfter('1.2.3.4'), 30);
  now = 60_000;
  assert.equal(t.retryAfter('1.2.3.4'), 0);
  t.failed('9.9.9.9');
  t.succeeded('9.9.9.9');
  assert.equal(t.retryAfter('9.9.9.9'), 0);
});

test('the rate limit allows a burst, then the sustained rate', () => {
  let now = 0;
  const r = new RateLimit(100, 200, () => now);
  assert.equal(r.take(200), true);
  assert.equal(r.take(1), false);
  now = 500;
  assert.equal(r.take(50), true);
  assert.equal(r.take(1), false);
});

test('TokenGate: a lockout refuses new guesses unchecked, keeps tokens proven from the address, and bounds what guessing during it can learn', () => {
  let now = 0;
  const gate = new TokenGate(new TokenSet({ alice: 'alice-token', bob: 'bob-token' }), new AuthThrottle(3, 60_000, () => now, 10), 'admin-token');
  const here = '10.0.0.1';
  assert.deepEqual(gate.check(here, 'alice-token'), { ok: true, name: 'alice' });
  for (let i = 0; i < 3; i++) assert.deepEqual(gate.check(here, `guess-${i}`), { ok: false, reason: 'invalid' });
  assert.deepEqual(gate.check(here, 'guess-3'), { ok: false, reason: 'throttled', retryAfter: 60 });
  // Bob's token was never used from here: refused like a guess. Alice's passes.
  assert.equal(gate.check(here, 'bob-token').ok, false);
  assert.deepEqual(gate.check(here, 'alice-token'), { ok: true, name: 'alice' });
  // The admin token views only where asked for, and is a token like any other.
  assert.deepEqual(gate.check('10.0.0.2', 'admin-token', { admin: true }), { ok: true, name: ADMIN });
  assert.deepEqual(gate.check('10.0.0.2', 'admin-token'), { ok: false, reason: 'invalid' });
  // Guesses during the lockout spend a budget of 10 (2 spent above); once spent, nothing is compared.
  for (let i = 0; i < 8; i++) assert.equal(gate.check(here, `locked-guess-${i}`).ok, false);
  assert.equal(gate.check(here, 'alice-token').ok, false, 'the budget is spent: even alice waits');
  now += 6_000; // one comparison refills every 6 s
  assert.equal(gate.check(here, 'alice-token').ok, true, 'a right token does not spend it');
  assert.equal(gate.check(here, 'alice-token').ok, true);
  // The window passes: the address starts afresh.
  now += 60_000;
  assert.deepEqual(gate.check(here, 'bob-token'), { ok: true, name: 'bob' });
});

test('AuthThrottle remembers a bounded number of addresses', () => {
  const t = new AuthThrottle(1, 60_000, () => 0);
  for (let i = 0; i < 10_001; i++) t.failed(`addr-${i}`);
  assert.equal(t.retryAfter('addr-0'), 0, 'the oldest address was forgotten');
  assert.equal(t.retryAfter('addr-10000'), 60);
});
