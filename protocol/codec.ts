// The one binary codec for every frame and every task value. msgpackr in
// structured-clone mode keeps typed arrays, Map, Set, Date, BigInt and cycles
// intact across Node, the page and its Web Workers.
import { Packr } from 'msgpackr';

const packr = new Packr({ structuredClone: true, useBigIntExtension: true });

/** Encodes a value (task arguments, a result, or a whole protocol frame). */
export function pack(value: unknown): Uint8Array {
  return packr.pack(value);
}

/** Decodes bytes produced by `pack`; throws on malformed input. */
export function unpack(bytes: Uint8Array): unknown {
  // Binary values decode as views of the input; from a Node Buffer they
  // would come out as Buffers, so decode from a plain Uint8Array view and a
  // Uint8Array sent from the browser arrives as a Uint8Array.
  const plain = Object.getPrototypeOf(bytes) === Uint8Array.prototype ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return packr.unpack(plain);
}
