// A page's identity and its record on the wire: the secret a page sends in
// its hello, the public id derived from it on both sides, and the `standing`
// message with the words the join page shows for it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtocolError, PROTOCOL_VERSION, decodeFrame, encodeFrame, parseHello, parseToPage } from '../../protocol/messages.ts';
import { publicId } from '../../coordinator/page-identity.ts';
import { DEFAULT_LIMITS } from '../../protocol/limits.ts';
import { newSecret, publicIdOf } from '../../browser-worker/identity.ts';
import { describeStanding } from '../../site/standing.ts';

const hello = { t: 'hello', role: 'worker', threads: 2, userAgent: 'UA', version: PROTOCOL_VERSION };
const roundTrip = (msg: unknown, parse: (x: unknown) => unknown) => decodeFrame(encodeFrame(msg as never), parse);

test("a page's hello may carry its identity secret: 43 base64url characters", () => {
  for (const identity of ['A'.repeat(43), 'abcdefghijklmnopqrstuvwxyz-_0123456789ABCDE', newSecret()]) {
    assert.deepEqual(roundTrip({ ...hello, identity }, parseHello), { ...hello, identity });
  }
  assert.deepEqual(roundTrip(hello, parseHello), hello);
});

test('a hello with a malformed identity is a ProtocolError that says what an identity is', () => {
  const secret = newSecret();
  const bad: unknown[] = ['', 'A'.repeat(42), 'A'.repeat(44), `${secret.slice(0, 42)}=`, `${secret.slice(0, 42)}+`, `${secret.slice(0, 42)}/`, ` ${secret.slice(1)}`, 'é'.repeat(43), 42, null, new Uint8Array(32), { secret }];
  for (const identity of bad) {
    assert.throws(
      () => roundTrip({ ...hello, identity }, parseHello),
      (e: unknown) => e instanceof ProtocolError && e.message === 'hello.identity must be 43 base64url characters (32 random bytes)',
      `identity ${JSON.stringify(identity)}`,
    );
  }
});

test('a new secret is 32 random bytes in base64url, different every time', () => {
  const secrets = new Set(Array.from({ length: 100 }, newSecret));
  assert.equal(secrets.size, 100);
  for (const s of secrets) {
    assert.match(s, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(s, 'base64url').length, 32);
    assert.equal(Buffer.from(s, 'base64url').toString('base64url'), s);
  }
});

test('the public id is the first 16 hex chars of sha256 of the secret, the same in the page and the coordinator', () => {
  assert.equal(publicId('abc'), 'ba7816bf8f01cfea');
  assert.equal(publicIdOf('abc'), 'ba7816bf8f01cfea');
  for (let i = 0; i < 50; i++) {
    const secret = newSecret();
    assert.match(publicId(secret), /^[0-9a-f]{16}$/);
    assert.equal(publicIdOf(secret), publicId(secret));
  }
  assert.notEqual(publicId(newSecret()), publicId(newSecret()));
});

test('the coordinator tells a page its standing, and may name its public id in the welcome', () => {
  const standing = { t: 'standing', checked: 120, agreed: 119, trusted: false, quarantined: true };
  assert.deepEqual(roundTrip(standing, parseToPage), standing);
  const welcome = { t: 'welcome', workerId: 'w', identity: publicId(newSecret()), limits: DEFAULT_LIMITS };
  assert.deepEqual(roundTrip(welcome, parseToPage), welcome);
  const bad: [unknown, RegExp][] = [
    [{ ...standing, checked: -1 }, /standing.checked/],
    [{ ...standing, agreed: 1.5 }, /standing.agreed/],
    [{ ...standing, trusted: 'yes' }, /standing.trusted/],
    [{ t: 'standing', checked: 1, agreed: 1, trusted: true }, /standing.quarantined/],
    [{ ...welcome, identity: 16 }, /welcome.identity/],
  ];
  for (const [msg, reason] of bad) {
    assert.throws(() => roundTrip(msg, parseToPage), (e: unknown) => e instanceof ProtocolError && reason.test(e.message));
  }
});

test("the join page words a volunteer's record plainly", () => {
  const record = (checked: number, agreed: number, trusted = false, quarantined = false) => describeStanding({ checked, agreed, trusted, quarantined });
  assert.equal(record(0, 0), 'Your results: not yet checked');
  assert.equal(record(1, 1), 'Your results: 1 checked, it agreed: not yet trusted');
  assert.equal(record(3, 3), 'Your results: 3 checked, all agreed: not yet trusted');
  assert.equal(record(120, 120, true), 'Your results: 120 checked, all agreed: trusted');
  assert.equal(record(1200, 1199, true), 'Your results: 1,200 checked, 1,199 agreed: trusted');
  assert.equal(record(9, 8, false, true), "Your results: quarantined: a result of yours disagreed with other volunteers'; this grid no longer gives you verified work");
});
