// A cheap walk over a frame's msgpack bytes before msgpackr decodes it: it
// allocates nothing per value, and refuses frames whose decoding would cost
// far more than their size suggests (a 5-byte array header promising 4
// billion items, arrays nested thousands deep, millions of tiny objects).
// It follows exactly the subset of msgpack (with msgpackr's record
// extension) that Ladle frames use, and refuses anything else.
import { ProtocolError } from './parse.ts';

export interface FrameLimits {
  /** Containers (arrays, maps, records) nested deeper than this are refused. */
  maxDepth: number;
  /** Items in one container (a map counts its keys and values). */
  maxContainer: number;
  /** Budget for the whole frame: every value costs 1, every container 8 more
   * (what an empty JS object or array costs next to a number). */
  maxCost: number;
}

/** Generous for any frame Ladle sends (a 2048-task submit costs about 30,000),
 * small enough that decoding stays within a few times the frame's size. */
export const FRAME_LIMITS: FrameLimits = { maxDepth: 32, maxContainer: 1_000_000, maxCost: 2_000_000 };

/** For a hello, the first frame of a socket not yet trusted: one small object. */
export const HELLO_LIMITS: FrameLimits = { maxDepth: 4, maxContainer: 32, maxCost: 512 };

const CONTAINER_COST = 8;
/** Extension types a frame may carry as an opaque payload: 0x00 undefined,
 * 0x74 a typed array, 0x70 a pointer to an object seen earlier in the frame,
 * 0x2d the codec's -0 (protocol/codec.ts). */
const OPAQUE_EXTENSIONS = new Set([0x00, 0x74, 0x70, 0x2d]);
/** msgpackr's structured-clone id: the value after it is an object a later pointer may name. */
const WITH_ID = 0x69;
/** msgpackr's record definition: a keys array, then the first record's values. */
const RECORD = 0x72;

/** Throws a ProtocolError unless `bytes` hold exactly one value within `limits`. */
export function scanFrame(bytes: Uint8Array, limits: FrameLimits = FRAME_LIMITS): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = bytes.byteLength;
  /** Field counts of the records defined so far in this frame, by id. */
  const records = new Map<number, number>();
  /** Values still to read in each open container, innermost last. */
  const open: number[] = [];
  let pos = 0;
  let cost = 0;

  const need = (n: number) => {
    if (n > end - pos) throw new ProtocolError('truncated frame');
  };
  const u8 = () => {
    need(1);
    return bytes[pos++];
  };
  const uint = (size: 1 | 2 | 4) => {
    need(size);
    const v = size === 1 ? bytes[pos] : size === 2 ? view.getUint16(pos) : view.getUint32(pos);
    pos += size;
    return v;
  };
  const skip = (n: number) => {
    need(n);
    pos += n;
  };
  const container = (n: number) => {
    if (n > limits.maxContainer) throw new ProtocolError(`a container of ${n} items is over the limit of ${limits.maxContainer}`);
    // Every item takes at least one byte: a count the rest of the frame cannot hold is a lie.
    if (n > end - pos) throw new ProtocolError(`a container promises ${n} items in ${end - pos} bytes`);
    cost += CONTAINER_COST;
    if (n === 0) return;
    if (open.length >= limits.maxDepth) throw new ProtocolError(`frame nests deeper than ${limits.maxDepth}`);
    open.push(n);
  };
  const extension = (size: number) => {
    const type = u8();
    if (type === RECORD) throw new ProtocolError('unsupported record definition');
    if (type === WITH_ID && size === 4) {
      skip(4);
      // The object itself follows, read as part of this value.
      return container(1);
    }
    if (!OPAQUE_EXTENSIONS.has(type)) throw new ProtocolError(`extension type ${type} is not allowed in a frame`);
    skip(size);
  };
  const str = () => {
    const t = u8();
    if (t >= 0xa0 && t <= 0xbf) skip(t - 0xa0);
    else if (t === 0xd9) skip(uint(1));
    else if (t === 0xda) skip(uint(2));
    else if (t === 0xdb) skip(uint(4));
    else throw new ProtocolError('record keys must be strings');
  };
  const recordDefinition = () => {
    const id = u8() & 0x3f;
    const t = u8();
    const keys = t >= 0x90 && t <= 0x9f ? t - 0x90 : t === 0xdc ? uint(2) : t === 0xdd ? uint(4) : -1;
    if (keys < 0) throw new ProtocolError('a record definition needs an array of keys');
    if (keys > end - pos) throw new ProtocolError(`a record promises ${keys} keys in ${end - pos} bytes`);
    for (let i = 0; i < keys; i++) str();
    records.set(id, keys);
    container(keys);
  };

  /** Reads one value's head: a scalar whole, or a container's header. */
  const value = () => {
    cost++;
    const t = u8();
    if (t < 0x40 || t >= 0xe0) return; // fixints
    if (t < 0x80) {
      // msgpackr reads these as a reference to a record defined earlier in the frame, else as a number.
      const fields = records.get(t & 0x3f);
      if (fields !== undefined) container(fields);
      return;
    }
    if (t < 0x90) return container(2 * (t - 0x80));
    if (t < 0xa0) return container(t - 0x90);
    if (t < 0xc0) return skip(t - 0xa0);
    switch (t) {
      case 0xc0:
      case 0xc2:
      case 0xc3:
        return;
      case 0xc4:
      case 0xd9:
        return skip(uint(1));
      case 0xc5:
      case 0xda:
        return skip(uint(2));
      case 0xc6:
      case 0xdb:
        return skip(uint(4));
      case 0xc7:
        return extension(uint(1));
      case 0xc8:
        return extension(uint(2));
      case 0xc9:
        return extension(uint(4));
      case 0xca:
        return skip(4);
      case 0xcb:
        return skip(8);
      case 0xcc:
      case 0xd0:
        return skip(1);
      case 0xcd:
      case 0xd1:
        return skip(2);
      case 0xce:
      case 0xd2:
        return skip(4);
      case 0xcf:
      case 0xd3:
        return skip(8);
      case 0xd4:
        need(1);
        if (bytes[pos] === RECORD) {
          pos++;
          return recordDefinition();
        }
        return extension(1);
      case 0xd5:
        return extension(2);
      case 0xd6:
        return extension(4);
      case 0xd7:
        return extension(8);
      case 0xd8:
        return extension(16);
      case 0xdc:
        return container(uint(2));
      case 0xdd:
        return container(uint(4));
      case 0xde:
        return container(2 * uint(2));
      case 0xdf:
        return container(2 * uint(4));
      default:
        throw new ProtocolError(`byte 0x${t.toString(16)} is not msgpack`);
    }
  };

  value();
  while (open.length > 0) {
    if (cost > limits.maxCost) throw new ProtocolError(`frame is too complex (over ${limits.maxCost} values)`);
    open[open.length - 1]--;
    const depth = open.length;
    value();
    // Close the containers this value completed (not one it just opened).
    if (open.length === depth) while (open.length > 0 && open[open.length - 1] === 0) open.pop();
  }
  if (cost > limits.maxCost) throw new ProtocolError(`frame is too complex (over ${limits.maxCost} values)`);
  if (pos !== end) throw new ProtocolError('trailing bytes after the frame');
}
