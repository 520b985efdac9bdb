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
  return packr.unpack(bytes);
}
