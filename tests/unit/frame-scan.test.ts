// The msgpack pre-scan: every frame Ladle's codec makes passes it, and
// hostile frames that would make msgpackr allocate far beyond their size are
// refused with a ProtocolError, cheaply and without decoding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { pack, unpack } from '../../protocol/codec.ts';
import { ProtocolError, encodeFrame } from '../../protocol/messages.ts';
import { FRAME_LIMITS, scanFrame } from '../../protocol/frame-scan.ts';

const SEED = 20261130;

const refused = (bytes: Uint8Array, pattern: RegExp) =>
  assert.throws(() => scanFrame(bytes), (e: unknown) => e instanceof ProtocolError && pattern.test(e.message));

/** Values shaped like frames: objects of a few shapes (records), arrays, bytes, numbers. */
const frameValue = fc.letrec((tie) => ({
  leaf: fc.oneof(
    fc.integer(),
    fc.integer({ min: 0, max: 2 ** 52 }),
    // msgpack has no -0.
    fc.double({ noNaN: true }).map((x) => (x === 0 ? 0 : x)),
    fc.string({ maxLength: 40 }),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.uint8Array({ maxLength: 64 }),
  ),
  node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, tie('leaf'), tie('array'), tie('object')),
  array: fc.array(tie('node'), { maxLength: 8 }),
  object: fc.dictionary(fc.constantFrom('t', 'id', 'ok', 'value', 'tasks', 'seq', 'error', 'name', 'x', 'y', 'z'), tie('node'), { maxKeys: 6, noNullPrototype: true }),
}));

test('every value the codec packs (frames included) passes the scan and decodes as before', () => {
  fc.assert(
    fc.property(frameValue.node, (v) => {
      const bytes = pack(v);
      scanFrame(bytes);
      assert.deepEqual(unpack(bytes), v);
    }),
    { seed: SEED, numRuns: 2000 },
  );
  // A real frame with a shared byte array (msgpackr writes it once, then points at it).
  const args = pack([1, 2]);
  scanFrame(encodeFrame({ t: 'submit', seq: 1, tasks: [1, 2, 3].map((id) => ({ id, bundle: 'a'.repeat(64), fn: 'f', args })) }));
  // A submit of 2048 tasks, the most the SDK puts in one frame, is far below the budget.
  scanFrame(encodeFrame({ t: 'submit', seq: 1, tasks: Array.from({ length: 2048 }, (_, id) => ({ id, bundle: 'a'.repeat(64), fn: 'f', args: pack([id]) })) }));
});

test('random bytes: the scan throws ProtocolError or passes, never anything else', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      try {
        scanFrame(bytes);
      } catch (e) {
        assert.ok(e instanceof ProtocolError, String(e));
      }
    }),
    { seed: SEED, numRuns: 5000 },
  );
});

test('a truncated frame of any cut is refused', () => {
  const frame = encodeFrame({ t: 'report', started: [1, 2, 3], results: [{ id: 1, ok: true, value: new Uint8Array(10) }], lost: [], submit: [], cancel: [], blocked: 0, ready: 0, local: 0 });
  for (let cut = 0; cut < frame.length; cut++) assert.throws(() => scanFrame(frame.subarray(0, cut)), ProtocolError);
});

test('hostile frames are refused before any decoding', () => {
  // 5 bytes promising 4 billion items (msgpackr would try new Array(4294967295)).
  refused(Uint8Array.of(0xdd, 0xff, 0xff, 0xff, 0xff), /over the limit/);
  refused(Uint8Array.of(0xdf, 0x00, 0x01, 0x00, 0x00), /promises 131072 items/);
  // The 60 MiB attack's header: an array of 63 million nils, cut to a small sample.
  const header = Uint8Array.of(0xdd, 0x03, 0xc1, 0x38, 0x00);
  refused(new Uint8Array([...header, ...new Uint8Array(1000).fill(0xc0)]), /over the limit/);
  // Arrays nested 5000 deep in 5000 bytes (msgpackr recurses once per level).
  refused(new Uint8Array(5000).fill(0x91), /deeper than 32/);
  // 300,000 empty objects in 300 KB: 2.4 million allocations.
  const empties = new Uint8Array(5 + 300_000).fill(0x80);
  empties.set([0xdd, 0x00, 0x04, 0x93, 0xe0]);
  refused(empties, /too complex/);
  // A record definition promising more keys than bytes, and one with non-string keys.
  refused(Uint8Array.of(0xd4, 0x72, 0x40, 0xdd, 0x7f, 0xff, 0xff, 0xff), /promises/);
  refused(Uint8Array.of(0xd4, 0x72, 0x40, 0x91, 0x01, 0x01), /keys must be strings/);
  // Extensions frames never carry (Error, Set, RegExp, BigInt, Date), and two-byte record ids.
  for (const type of [0x65, 0x73, 0x78, 0x42, 0xff]) refused(Uint8Array.of(0xd4, type, 0x00), new RegExp(`extension type ${type} `));
  refused(Uint8Array.of(0xd5, 0x72, 0x40, 0x00), /record definition/);
  refused(Uint8Array.of(0xc1), /not msgpack/);
  refused(Uint8Array.of(0xc0, 0xc0), /trailing bytes/);
});

test('a huge container within the frame is still capped by the per-container limit', () => {
  const n = FRAME_LIMITS.maxContainer + 1;
  const bytes = new Uint8Array(5 + n).fill(0x01);
  bytes.set([0xdd, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
  refused(bytes, /over the limit of 1000000/);
  // The same count under custom limits passes when they allow it.
  scanFrame(bytes, { maxDepth: 4, maxContainer: n, maxCost: 2 * n });
});
