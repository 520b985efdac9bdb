// Structured clone's rules, checked before a task value is packed. msgpackr
// would not refuse what structured clone refuses: it turns a function into
// undefined, a Promise into {} and a class instance into a plain object,
// silently. One walk over the value finds the first such part and names its
// path (`args[0].f`), and notes whether a -0 needs the codec's help.
//
// Accepted, as structured clone copies them: primitives (BigInt too), plain
// and null-prototype objects, arrays, Map, Set, Date, RegExp, ArrayBuffer,
// DataView, typed arrays (Node's Buffer arrives as Uint8Array) and Error
// objects (their name, message and cause). Refused: functions, symbols and
// every other object: promises, weak collections, boxed primitives, host
// objects, and instances of classes, including subclasses of Array, Map and
// Set (structured clone would drop their prototype, so their methods would be
// missing on the other side without a word).
//
// Like structured clone, symbol-keyed and non-enumerable properties are left
// out. Unlike it, holes in a sparse array arrive as undefined, and an own
// property named "__proto__" (JSON.parse makes them) is refused.

export interface CloneProblem {
  /** Where the value sits, from the root given: `args[0].f`, `result.items[3]`. */
  path: string;
  /** What it is, and why it cannot be copied. */
  what: string;
}

/** Scan result: the value can be copied, and holds a -0 somewhere. */
export const NEGATIVE_ZERO = 1;
/** Scan result: the value can be copied as it is. */
export const CLONEABLE = 0;

const typedArrayPrototypes = new Set<object>(
  ['Int8', 'Uint8', 'Uint8Clamped', 'Int16', 'Uint16', 'Int32', 'Uint32', 'Float32', 'Float64', 'BigInt64', 'BigUint64']
    .map((t) => (globalThis as Record<string, unknown>)[`${t}Array`] as { prototype: object } | undefined)
    .filter((c) => c !== undefined)
    .map((c) => c.prototype),
);
// Node's Buffer is a Uint8Array that the codec writes as bytes.
const nodeBuffer = (globalThis as { Buffer?: { prototype: object } }).Buffer;
if (nodeBuffer) typedArrayPrototypes.add(nodeBuffer.prototype);

const leafPrototypes = new Set<object>([Date.prototype, RegExp.prototype, ArrayBuffer.prototype, DataView.prototype, ...typedArrayPrototypes]);

// How each step of the path is written; kept in two parallel stacks so that
// walking allocates nothing, and the path is spelled out only on failure.
const PROP = 0;
const INDEX = 1;
const MAP_KEY = 2;
const MAP_VALUE = 3;
const SET_ENTRY = 4;

let kinds: number[] = [];
let keys: unknown[] = [];
/** Objects being walked, innermost last: a cycle leads back to one of them. */
let ancestors: object[] = [];
/** Objects met so far, once a value has more than SMALL of them: shared
 * references are then walked once. Small values (the hot path: a task's few
 * arguments) only use `ancestors`, as a Set costs more than their whole walk. */
let seen = new Set<object>();
let met = 0;
const SMALL = 64;
let negativeZero = false;
let busy = false;

/** Checks that structured clone would copy `value` faithfully. Returns the
 * first part it would refuse, or CLONEABLE / NEGATIVE_ZERO. */
export function scanClone(value: unknown, root: string): CloneProblem | typeof CLONEABLE | typeof NEGATIVE_ZERO {
  // A getter run by the walk could scan another value: give it its own state.
  const outer = busy ? { kinds, keys, ancestors, seen, met, negativeZero } : undefined;
  if (outer) {
    kinds = [];
    keys = [];
    ancestors = [];
    seen = new Set();
  }
  busy = true;
  met = 0;
  negativeZero = false;
  try {
    const what = visit(value);
    if (what !== undefined) return { path: root + pathOf(), what };
    return negativeZero ? NEGATIVE_ZERO : CLONEABLE;
  } catch (e) {
    // A getter threw, or the value nests deeper than the stack goes.
    return { path: root + pathOf(), what: `a value that could not be read (${e instanceof Error ? e.message : String(e)})` };
  } finally {
    // A walk that succeeded popped all it pushed: setting lengths costs.
    if (kinds.length > 0) kinds.length = keys.length = 0;
    if (ancestors.length > 0) ancestors.length = 0;
    if (met > SMALL) seen.clear();
    if (outer) ({ kinds, keys, ancestors, seen, met, negativeZero } = outer);
    else busy = false;
  }
}

/** The reason `v` cannot be copied, or undefined; the path stacks then hold where it is. */
function visit(v: unknown): string | undefined {
  switch (typeof v) {
    case 'number':
      if (v === 0 && 1 / v < 0) negativeZero = true;
      return undefined;
    case 'string':
    case 'boolean':
    case 'undefined':
    case 'bigint':
      return undefined;
    case 'symbol':
      return 'a symbol';
    case 'function':
      return v.name ? `a function (${v.name})` : 'a function';
  }
  if (v === null) return undefined;
  const o = v as object;
  if (++met > SMALL) {
    if (seen.has(o)) return undefined; // shared or cyclic: checked where first met
    seen.add(o);
  } else if (ancestors.includes(o)) {
    return undefined; // a cycle
  }
  ancestors.push(o);
  const what = visitObject(o);
  if (what === undefined) ancestors.pop();
  return what;
}

function visitObject(o: object): string | undefined {
  const proto: unknown = Object.getPrototypeOf(o);
  if (proto === Array.prototype) return visitArray(o as unknown[]);
  if (proto === Object.prototype || proto === null) {
    const r = o as Record<string, unknown>;
    for (const key in r) {
      if (!Object.hasOwn(r, key)) continue;
      // The path goes on before the read: a getter may throw.
      kinds.push(PROP);
      keys.push(key);
      // The decoder renames it (to keep prototypes safe), so it would not arrive as sent.
      if (key === '__proto__') return 'an own property named "__proto__" (pass such data as a Map)';
      const what = visit(r[key]);
      if (what !== undefined) return what;
      kinds.pop();
      keys.pop();
    }
    return undefined;
  }
  if (proto === Map.prototype) {
    let i = 0;
    for (const [key, value] of o as Map<unknown, unknown>) {
      const what = step(MAP_KEY, i++, key) ?? step(MAP_VALUE, key, value);
      if (what !== undefined) return what;
    }
    return undefined;
  }
  if (proto === Set.prototype) {
    let i = 0;
    for (const entry of o as Set<unknown>) {
      const what = step(SET_ENTRY, i++, entry);
      if (what !== undefined) return what;
    }
    return undefined;
  }
  if (leafPrototypes.has(proto as object)) return undefined;
  if (o instanceof Error) {
    const e = o as Error & { errors?: unknown };
    if (Object.hasOwn(e, 'cause')) {
      const what = step(PROP, 'cause', e.cause);
      if (what !== undefined) return what;
    }
    return typeof AggregateError === 'function' && e instanceof AggregateError ? step(PROP, 'errors', e.errors) : undefined;
  }
  return refusedObject(o, proto);
}

function visitArray(a: unknown[]): string | undefined {
  for (let i = 0, n = a.length; i < n; i++) {
    const x = a[i];
    // The hot path (arrays of numbers or strings) makes no call.
    if (typeof x === 'number' ? x !== 0 : typeof x === 'string') continue;
    const what = step(INDEX, i, x);
    if (what !== undefined) return what;
  }
  return undefined;
}

function step(kind: number, key: unknown, value: unknown): string | undefined {
  kinds.push(kind);
  keys.push(key);
  const what = visit(value);
  if (what === undefined) {
    kinds.pop();
    keys.pop();
  }
  return what;
}

function refusedObject(o: object, proto: unknown): string {
  if (o instanceof Promise) return 'a Promise (await it and pass its value)';
  if (o instanceof WeakMap || o instanceof WeakSet) return `a ${o instanceof WeakMap ? 'WeakMap' : 'WeakSet'} (weak collections cannot be copied)`;
  if (typeof WeakRef === 'function' && o instanceof WeakRef) return 'a WeakRef (weak references cannot be copied)';
  if (o instanceof Number || o instanceof String || o instanceof Boolean || o instanceof BigInt || o instanceof Symbol) {
    return 'a boxed primitive (a Number, String or Boolean object: pass the primitive value)';
  }
  if (typeof SharedArrayBuffer === 'function' && o instanceof SharedArrayBuffer) return 'a SharedArrayBuffer (copy it into an ArrayBuffer)';
  if (ArrayBuffer.isView(o)) return `a ${className(proto)} (typed arrays of this kind are not supported)`;
  return (
    `an instance of ${className(proto)}: only plain objects, arrays, Map, Set, Date, RegExp, Error, ArrayBuffer and typed arrays ` +
    'are copied (a class instance would arrive as a plain object, without its methods)'
  );
}

function className(proto: unknown): string {
  try {
    const name = (proto as { constructor?: { name?: unknown } }).constructor?.name;
    if (typeof name === 'string' && name !== '') return name.slice(0, 64);
  } catch {
    // a hostile constructor getter: fall through
  }
  return 'an unnamed class';
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** The path to where the walk stands; a very deep one keeps its first steps. */
function pathOf(): string {
  let path = '';
  for (let i = 0; i < kinds.length; i++) {
    if (path.length > 400) return `${path}…`;
    const key = keys[i];
    switch (kinds[i]) {
      case PROP:
        path += IDENTIFIER.test(key as string) && key !== '__proto__' ? `.${key as string}` : `[${JSON.stringify(key)}]`;
        break;
      case INDEX:
        path += `[${key as number}]`;
        break;
      case MAP_KEY:
        path += `.keys()[${key as number}]`;
        break;
      case MAP_VALUE:
        path += `.get(${keyText(key)})`;
        break;
      case SET_ENTRY:
        path += `.values()[${key as number}]`;
        break;
    }
  }
  return path;
}

function keyText(key: unknown): string {
  if (typeof key === 'string') return JSON.stringify(key.length > 64 ? `${key.slice(0, 64)}…` : key);
  if (typeof key === 'bigint') return `${key}n`;
  if (key === null || typeof key !== 'object') return Object.is(key, -0) ? '-0' : String(key);
  return '<an object key>';
}
