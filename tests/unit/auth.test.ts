import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthThrottle, RateLimit, TokenSet, parseTokens } from '../../coordinator/auth.ts';

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
