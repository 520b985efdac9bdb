// The one binary codec for every frame and every task value. msgpackr in
// structured-clone mode keeps typed arrays, Map, Set, Date, BigInt and cycles
// intact across Node, the page and its Web Workers. Task values go through
// `packValue`, which first checks them against structured clone's rules.
import { Packr, addExtension } from 'msgpackr';
import { NEGATIVE_ZERO, scanClone, type CloneProblem } from './clone-check.ts';

/** Stands in for a -0 while packing: msgpackr writes -0 as the integer 0. */
class NegativeZero {}
addExtension({
  Class: NegativeZero,
  type: 0x2d, // '-'
  pack: () => new Uint8Array(0),
  unpack: () => -0,
});

const packr = new Packr({ structuredClone: true, useBigIntExtension: true });

/** Encodes a value (task arguments, a result, or a whole protocol frame). */
export function pack(value: unknown): Uint8Array {
  return packr.pack(value);
}

/** Encodes a task value (arguments, a result, a shared constant) if structured
 * clone would copy it faithfully; otherwise returns what it would refuse and
 * where, `root` naming the value (`args`, `result`, `shared.factor`). */
export function packValue(value: unknown, root: string): Uint8Array | CloneProblem {
  const scan = scanClone(value, root);
  if (typeof scan === 'object') return scan;
  try {
    return packr.pack(scan === NEGATIVE_ZERO ? withNegativeZeros(value, new Map()) : value);
  } catch (e) {
    return { path: root, what: `a value the codec could not encode (${e instanceof Error ? e.message : String(e)})` };
  }
}

/** Decodes bytes produced by `pack`; throws on malformed input. */
export function unpack(bytes: Uint8Array): unknown {
  // Binary values decode as views of the input; from a Node Buffer they
  // would come out as Buffers, so decode from a plain Uint8Array view and a
  // Uint8Array sent from the browser arrives as a Uint8Array.
  const plain = Object.getPrototypeOf(bytes) === Uint8Array.prototype ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return packr.unpack(plain);
}

/** A copy of a checked value with each -0 replaced by a NegativeZero, keeping
 * shared references and cycles. Rare, so a plain copy is good enough. Typed
 * arrays keep -0 in their bytes; a -0 inside an Error's cause is not kept. */
function withNegativeZeros(v: unknown, copies: Map<object, unknown>): unknown {
  if (typeof v === 'number') return v === 0 && 1 / v < 0 ? new NegativeZero() : v;
  if (typeof v !== 'object' || v === null) return v;
  const done = copies.get(v);
  if (done !== undefined) return done;
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto === Array.prototype) {
    const a = v as unknown[];
    const copy: unknown[] = new Array(a.length);
    copies.set(v, copy);
    for (let i = 0; i < a.length; i++) copy[i] = withNegativeZeros(a[i], copies);
    return copy;
  }
  if (proto === Object.prototype || proto === null) {
    const copy: Record<string, unknown> = proto === null ? (Object.create(null) as Record<string, unknown>) : {};
    copies.set(v, copy);
    for (const [key, value] of Object.entries(v)) copy[key] = withNegativeZeros(value, copies);
    return copy;
  }
  if (proto === Map.prototype) {
    const copy = new Map<unknown, unknown>();
    copies.set(v, copy);
    for (const [key, value] of v as Map<unknown, unknown>) copy.set(withNegativeZeros(key, copies), withNegativeZeros(value, copies));
    return copy;
  }
  if (proto === Set.prototype) {
    const copy = new Set<unknown>();
    copies.set(v, copy);
    for (const entry of v as Set<unknown>) copy.add(withNegativeZeros(entry, copies));
    return copy;
  }
  return v;
}
