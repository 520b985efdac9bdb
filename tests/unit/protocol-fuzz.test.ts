// Property tests of the protocol validators with a fixed seed: whatever
// arrives, a parser returns a well-formed message or throws ProtocolError,
// never anything else, and never pollutes a prototype.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { pack } from '../../protocol/codec.ts';
import {
  ProtocolError,
  decodeFrame,
  parseClientMessage,
  parseHello,
  parsePageMessage,
  parseToClient,
  parseToPage,
  parsePeerMessage,
} from '../../protocol/messages.ts';

const parsers: ((x: unknown) => unknown)[] = [parseHello, parseClientMessage, parsePageMessage, parseToClient, parseToPage, parsePeerMessage];
const SEED = 20261127;

/** Values shaped like messages: known tags and field names, wrong types mixed in. */
const field = fc.oneof(
  fc.integer({ min: -5, max: 2 ** 40 }),
  fc.string({ maxLength: 80 }),
  fc.uint8Array({ maxLength: 16 }),
  fc.constant(null),
  fc.boolean(),
  fc.constant('a'.repeat(64)),
);
const messageLike = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, field, fc.array(tie('value'), { maxLength: 4 }), tie('object')),
  object: fc.dictionary(
    fc.constantFrom('t', 'seq', 'tasks', 'ids', 'id', 'bundle', 'fn', 'args', 'ok', 'value', 'error', 'role', 'token', 'version', 'threads', 'userAgent', 'results', 'started', 'lost', 'submit', 'cancel', 'blocked', 'req', 'values', '__proto__', 'constructor', 'prototype', 'polluted'),
    fc.oneof(fc.constantFrom('hello', 'submit', 'cancel', 'share', 'ack', 'report', 'pong', 'tasks', 'results', 'welcome', 'shared', 'ping', 'client', 'worker', 'steal', 'lend', 'release', 'peerGone', 'peer'), tie('value')),
    { maxKeys: 8 },
  ),
}));

/** What a parser returns, or undefined for a ProtocolError. */
function onlyProtocolErrors(run: () => unknown): unknown {
  try {
    return run();
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw e;
    return undefined;
  }
}

const builtIns = [Object.prototype, Array.prototype, Function.prototype];
const ownKeys = () => builtIns.map((p) => Reflect.ownKeys(p).map(String).sort().join());
const ORDINARY = new Set<unknown>([Object.prototype, null, Array.prototype, Uint8Array.prototype]);

/** Fails if a built-in prototype gained or lost a key, or if anything in
 * `value` has a prototype a message may not choose (a `__proto__` key that
 * was obeyed instead of kept as data). */
function assertUnpolluted(before: string[], value: unknown, seen = new Set<unknown>()): void {
  assert.deepEqual(ownKeys(), before, 'a built-in prototype changed');
  if (typeof value !== 'object' || value === null || seen.has(value)) return;
  seen.add(value);
  assert.ok(ORDINARY.has(Object.getPrototypeOf(value)), 'a parsed value has a prototype the message chose');
  for (const v of Object.values(value)) assertUnpolluted(before, v, seen);
}

test('random message-shaped values: parsed or ProtocolError', () => {
  fc.assert(
    fc.property(messageLike.object, (msg) => {
      const frame = pack(msg);
      const before = ownKeys();
      for (const parse of parsers) assertUnpolluted(before, onlyProtocolErrors(() => decodeFrame(frame, parse)));
    }),
    { seed: SEED, numRuns: 3000 },
  );
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('random and truncated bytes: ProtocolError, never a crash', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(), (bytes, cut) => {
      for (const parse of parsers) {
        onlyProtocolErrors(() => decodeFrame(bytes, parse));
        const valid = pack({ t: 'submit', seq: 1, tasks: [{ id: 1, bundle: 'a'.repeat(64), fn: 'f', args: bytes }] });
        onlyProtocolErrors(() => decodeFrame(valid.subarray(0, cut % valid.length), parse));
      }
    }),
    { seed: SEED, numRuns: 2000 },
  );
});
