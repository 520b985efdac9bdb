// Task values against structured clone's rules: what it copies round-trips
// exactly through the codec; what it refuses is refused, naming where.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { packValue, unpack } from '../../protocol/codec.ts';
import { scanClone, CLONEABLE, NEGATIVE_ZERO, type CloneProblem } from '../../protocol/clone-check.ts';

function roundTrip(v: unknown): unknown {
  const bytes = packValue(v, 'v');
  if (!(bytes instanceof Uint8Array)) assert.fail(`refused ${bytes.path}: ${bytes.what}`);
  return unpack(bytes);
}

/** Exact sameness: Object.is for primitives and typed array elements, time
 * for Dates (Invalid Date too), Maps and Sets in insertion order, equal
 * prototypes and key order. node:assert cannot match Invalid Dates in Sets. */
function same(a: unknown, b: unknown, seen = new Map<object, unknown>()): boolean {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return Object.is(a, b);
  if (seen.has(a)) return seen.get(a) === b;
  seen.set(a, b);
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (a instanceof Date) return Object.is(a.getTime(), (b as Date).getTime());
  if (ArrayBuffer.isView(a)) {
    const x = a as unknown as ArrayLike<unknown>;
    const y = b as unknown as ArrayLike<unknown>;
    return x.length === y.length && Array.from(x).every((v, i) => Object.is(v, y[i]));
  }
  if (a instanceof Map || a instanceof Set) {
    const x = [...(a as Map<unknown, unknown>).entries()];
    const y = [...(b as Map<unknown, unknown>).entries()];
    return x.length === y.length && x.every((e, i) => same(e[0], y[i][0], seen) && same(e[1], y[i][1], seen));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], seen));
}

function assertSame(actual: unknown, expected: unknown): void {
  if (!same(actual, expected)) assert.fail(`not the same:\n${inspect(actual)}\n${inspect(expected)}`);
}

function refused(v: unknown, root = 'args'): CloneProblem {
  const r = packValue(v, root);
  assert.ok(!(r instanceof Uint8Array), 'expected a refusal');
  return r;
}

/** What structured clone copies, as fast-check makes it (sparse arrays and
 * null-prototype objects are tested apart: they arrive changed on purpose;
 * own "__proto__" keys are refused). */
const cloneable = fc.anything({
  key: fc.string().filter((k) => k !== '__proto__'),
  withBigInt: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withTypedArray: true,
  withNullPrototype: false,
  withSparseArray: false,
  withBoxedValues: false,
  withObjectString: true,
  maxDepth: 4,
});

test('anything structured clone copies round-trips exactly (Object.is for -0 and NaN)', () => {
  fc.assert(
    fc.property(cloneable, (v) => {
      assertSame(roundTrip(v), v);
    }),
    { numRuns: 500 },
  );
});

test('-0 survives alone, in arrays, objects, Maps and Sets; 0 stays 0', () => {
  assert.ok(Object.is(roundTrip(-0), -0));
  assert.ok(Object.is(roundTrip(0), 0));
  const back = roundTrip({ a: [-0, 0], m: new Map([['k', -0]]), s: new Set([1, -0]), f: new Float64Array([-0]) }) as {
    a: number[];
    m: Map<string, number>;
    s: Set<number>;
    f: Float64Array;
  };
  assert.ok(Object.is(back.a[0], -0) && Object.is(back.a[1], 0));
  assert.ok(Object.is(back.m.get('k'), -0));
  assert.ok(Object.is(back.f[0], -0));
  assert.equal(back.s.size, 2);
});

test('cycles and shared references survive, with a -0 inside too', () => {
  fc.assert(
    fc.property(cloneable, fc.boolean(), (v, withNegativeZero) => {
      const shared = { v };
      const root: Record<string, unknown> = { a: shared, b: [shared], z: withNegativeZero ? -0 : 1 };
      root.self = root;
      const m = new Map<unknown, unknown>([['root', root]]);
      m.set(m, m);
      root.m = m;
      const back = roundTrip(root) as typeof root & { a: object; b: object[]; m: Map<unknown, unknown> };
      assert.equal(back.self, back);
      assert.equal(back.a, back.b[0]);
      assert.equal(back.m.get('root'), back);
      assert.equal(back.m.get(back.m), back.m);
      assert.ok(Object.is(back.z, withNegativeZero ? -0 : 1));
      assertSame((back.a as { v: unknown }).v, v);
    }),
    { numRuns: 100 },
  );
});

test('RegExp, Error, ArrayBuffer, DataView, BigInt and a Node Buffer are copied', () => {
  const v = { r: /a+b/gi, e: new RangeError('bad', { cause: 'why' }), ab: new Uint8Array([1, 2]).buffer, dv: new DataView(new ArrayBuffer(3)), big: -(2n ** 70n) };
  const back = roundTrip(v) as typeof v;
  assert.deepEqual([back.r.source, back.r.flags], ['a+b', 'gi']);
  assert.ok(back.e instanceof RangeError);
  assert.equal(back.e.message, 'bad');
  assert.equal(back.e.cause, 'why');
  assert.deepEqual(new Uint8Array(back.ab), new Uint8Array([1, 2]));
  assert.ok(back.dv instanceof DataView && back.dv.byteLength === 3);
  assert.equal(back.big, v.big);
  const buffer = roundTrip(Buffer.from([7, 8])) as Uint8Array;
  assert.deepEqual([...buffer], [7, 8]);
});

test('what changes on purpose: holes arrive as undefined, a null-prototype object as a plain one', () => {
  // eslint-disable-next-line no-sparse-arrays
  assert.deepStrictEqual(roundTrip([1, , 3]), [1, undefined, 3]);
  const bare = Object.assign(Object.create(null) as object, { a: 1 });
  assert.deepStrictEqual(roundTrip(bare), { a: 1 });
});

class Point {
  constructor(
    public x: number,
    public y: number,
  ) {}
  norm(): number {
    return Math.hypot(this.x, this.y);
  }
}

test('each kind of value structured clone refuses or would change is refused, with what it is', () => {
  const cases: [unknown, RegExp][] = [
    [function parseRow() {}, /a function \(parseRow\)/],
    [Symbol('s'), /a symbol/],
    [Promise.resolve(1), /a Promise/],
    [new WeakMap(), /a WeakMap/],
    [new WeakSet(), /a WeakSet/],
    [new WeakRef({}), /a WeakRef/],
    [new Number(3), /boxed primitive/],
    [new String('s'), /boxed primitive/],
    [new Point(1, 2), /an instance of Point.*without its methods/],
    [new (class Rows extends Array {})(), /an instance of Rows/],
    [new (class Index extends Map {})(), /an instance of Index/],
    [new SharedArrayBuffer(8), /SharedArrayBuffer/],
  ];
  for (const [v, what] of cases) {
    const p = refused([v]);
    assert.equal(p.path, 'args[0]');
    assert.match(p.what, what);
  }
});

test('paths name object keys, indices, Map keys and values, Set entries and causes', () => {
  const f = () => 1;
  assert.equal(refused({ f }, 'args').path, 'args.f');
  assert.equal(refused({ 'not-an-id': [0, f] }, 'result').path, 'result["not-an-id"][1]');
  assert.equal(refused(new Map([['k', { f }]]), 'shared.table').path, 'shared.table.get("k").f');
  assert.equal(refused(new Map([[f, 1]])).path, 'args.keys()[0]');
  assert.equal(refused(new Map([[2n, f]])).path, 'args.get(2n)');
  assert.equal(refused(new Set([1, f])).path, 'args.values()[1]');
  assert.equal(refused(new Error('x', { cause: { f } })).path, 'args.cause.f');
  const parsed = refused(JSON.parse('{"a": {"__proto__": {"x": 1}}}'));
  assert.equal(parsed.path, 'args.a["__proto__"]');
  assert.match(parsed.what, /"__proto__"/);
});

test('a getter that throws, or nesting deeper than the stack, is refused rather than thrown', () => {
  const p = refused({
    get bad(): never {
      throw new Error('no');
    },
  });
  assert.equal(p.path, 'args.bad');
  assert.match(p.what, /could not be read \(no\)/);
  let deep: unknown = 1;
  for (let i = 0; i < 100_000; i++) deep = [deep];
  const q = refused(deep);
  assert.match(q.path, /^args(\[0\])+…$/);
  assert.ok(q.path.length < 500);
});

test('shared references are walked once and cycles end the walk', () => {
  const node: Record<string, unknown> = {};
  node.next = node;
  assert.equal(scanClone(node, 'v'), CLONEABLE);
  assert.equal(scanClone([node, node, -0], 'v'), NEGATIVE_ZERO);
});

/** One step into a container on the way to a refused value, and its path. */
const container = fc.oneof(
  fc.record({ kind: fc.constant('object' as const), key: fc.oneof(fc.constantFrom('a', 'items', '$x', 'with space', '0'), fc.string({ maxLength: 6 })), sibling: cloneable }),
  fc.record({ kind: fc.constant('array' as const), before: fc.array(cloneable, { maxLength: 3 }) }),
  fc.record({ kind: fc.constant('map' as const), key: fc.oneof(fc.string({ maxLength: 6 }), fc.integer()) }),
  fc.record({ kind: fc.constant('set' as const), before: fc.uniqueArray(fc.integer(), { maxLength: 3 }) }),
);

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

test('a function, symbol or promise anywhere is refused, and the path points at it', () => {
  fc.assert(
    fc.property(fc.array(container, { maxLength: 5 }), fc.constantFrom<() => unknown>(() => () => 1, () => Symbol('x'), () => Promise.resolve()), (steps, bad) => {
      let value: unknown = bad();
      let path = '';
      for (const s of steps.reverse()) {
        if (s.kind === 'object') {
          value = s.key === '__proto__' ? { other: value } : { [s.key]: value, ...(s.key === 'sibling' ? {} : { sibling: s.sibling }) };
          path = (s.key === '__proto__' ? '.other' : IDENTIFIER.test(s.key) ? `.${s.key}` : `[${JSON.stringify(s.key)}]`) + path;
        } else if (s.kind === 'array') {
          value = [...s.before, value];
          path = `[${s.before.length}]` + path;
        } else if (s.kind === 'map') {
          value = new Map([[s.key, value]]);
          path = `.get(${typeof s.key === 'string' ? JSON.stringify(s.key) : Object.is(s.key, -0) ? '-0' : String(s.key)})` + path;
        } else {
          value = new Set([...s.before, value]);
          path = `.values()[${s.before.length}]` + path;
        }
      }
      assert.equal(refused(value, 'args').path, `args${path}`);
    }),
    { numRuns: 300 },
  );
});
