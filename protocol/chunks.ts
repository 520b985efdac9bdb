// Framing for WebRTC data channels, which carry messages of limited size
// (the size both ends agreed on, 256 KiB between Chromiums; 16 KiB is what
// every browser pair delivers whole): a frame is cut into chunks, each led
// by one byte saying whether more follow, and the reliable, ordered channel
// brings them back in order to be joined.

/** Chunk size when the channel does not say its limit. */
export const SAFE_CHUNK_BYTES = 16 * 1024;
/** Larger chunks buy nothing: fewer, but each blocks the channel longer. */
const MAX_CHUNK_BYTES = 256 * 1024;

/** The chunk size for a channel whose agreed maximum message size is `maxMessageSize`. */
export function chunkSize(maxMessageSize: number | null | undefined): number {
  // Infinity means neither end set a limit.
  if (!maxMessageSize || maxMessageSize < 1024) return SAFE_CHUNK_BYTES;
  return Math.min(maxMessageSize, MAX_CHUNK_BYTES);
}
const MORE = 0;
const LAST = 1;

/** Cuts a frame into chunks of at most `chunkBytes`, the lead byte included. */
export function toChunks(frame: Uint8Array, chunkBytes = SAFE_CHUNK_BYTES): Uint8Array[] {
  const size = chunkBytes - 1;
  const chunks: Uint8Array[] = [];
  let at = 0;
  do {
    const end = Math.min(frame.byteLength, at + size);
    const chunk = new Uint8Array(1 + end - at);
    chunk[0] = end === frame.byteLength ? LAST : MORE;
    chunk.set(frame.subarray(at, end), 1);
    chunks.push(chunk);
    at = end;
  } while (at < frame.byteLength);
  return chunks;
}

/** Joins chunks back into frames; refuses frames over `maxBytes`. */
export class ChunkJoiner {
  private parts: Uint8Array[] = [];
  private size = 0;

  constructor(private readonly maxBytes: number) {}

  /** Returns the whole frame when `chunk` completes one. */
  push(chunk: Uint8Array): Uint8Array | undefined {
    if (chunk.byteLength === 0 || (chunk[0] !== MORE && chunk[0] !== LAST)) throw new Error('malformed chunk');
    this.size += chunk.byteLength - 1;
    if (this.size > this.maxBytes) throw new Error(`message over ${this.maxBytes} bytes`);
    this.parts.push(chunk.subarray(1));
    if (chunk[0] === MORE) return undefined;
    const parts = this.parts;
    const frame = parts.length === 1 ? parts[0] : new Uint8Array(this.size);
    if (parts.length > 1) {
      let at = 0;
      for (const p of parts) {
        frame.set(p, at);
        at += p.byteLength;
      }
    }
    this.parts = [];
    this.size = 0;
    return frame;
  }
}
