import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pack, unpack } from '../../protocol/codec.ts';

const roundTrip = (v: unknown) => unpack(pack(v));

test('typed arrays keep their type and contents', () => {
  for (const v of [new Float64Array([1.5, -2, Math.PI]), new Int32Array([-1, 2 ** 31 - 1]), new Uint8Array([0, 255]), new Float32Array([0.5]), new BigInt64Array([-(2n ** 63n)])]) {
    const back = roundTrip(v) as typeof v;
    assert.equal(back.constructor, v.constructor);
    assert.deepEqual([...back], [...v]);
  }
});

test('a Buffer input still decodes binary values as plain Uint8Array', () => {
  const bytes = pack({ u: new Uint8Array([7, 8]) });
  const back = unpack(Buffer.from(bytes)) as { u: Uint8Array };
  assert.equal(Object.getPrototypeOf(back.u), Uint8Array.prototype);
  assert.deepEqual([...back.u], [7, 8]);
});

test('Map, Set, Date and BigInt survive', () => {
  const v = { m: new Map<unknown, unknown>([[1, 'a'], ['k', { x: [1, 2] }]]), s: new Set(['x', 3]), d: new Date(1234567890123), big: 2n ** 100n, neg: -5n };
  assert.deepEqual(roundTrip(v), v);
});

test('nested objects, arrays, undefined and null survive', () => {
  const v = { a: [1, { b: [null, undefined, 'x'] }], c: { d: { e: { f: 1.25 } } }, empty: {}, list: [] };
  assert.deepEqual(roundTrip(v), v);
});

test('shared references and cycles survive (structured clone)', () => {
  const shared = { n: 1 };
  const v: { a: object; b: object; self?: unknown } = { a: shared, b: shared };
  v.self = v;
  const back = roundTrip(v) as typeof v;
  assert.equal(back.a, back.b);
  assert.equal(back.self, back);
});

test('truncated bytes throw instead of returning garbage', () => {
  assert.throws(() => unpack(new Uint8Array([0x92, 1])));
  assert.throws(() => unpack(pack({ long: 'x'.repeat(100) }).subarray(0, 10)));
});
