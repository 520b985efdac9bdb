import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChunkJoiner, SAFE_CHUNK_BYTES, chunkSize, toChunks } from '../../protocol/chunks.ts';

test('a frame cut into chunks joins back byte for byte, each chunk within the limit', () => {
  for (const size of [0, 1, SAFE_CHUNK_BYTES - 2, SAFE_CHUNK_BYTES - 1, SAFE_CHUNK_BYTES, 5 * 1024 * 1024 + 3]) {
    const frame = new Uint8Array(size);
    for (let i = 0; i < size; i++) frame[i] = (i * 131) % 251;
    const chunks = toChunks(frame);
    assert.ok(chunks.every((c) => c.byteLength <= SAFE_CHUNK_BYTES), `size ${size}: a chunk over the limit`);
    const joiner = new ChunkJoiner(64 * 1024 * 1024);
    const out = chunks.map((c) => joiner.push(c));
    assert.ok(out.slice(0, -1).every((x) => x === undefined), 'nothing comes out before the last chunk');
    assert.deepEqual(out.at(-1), frame);
  }
});

test('frames follow each other on one channel', () => {
  const joiner = new ChunkJoiner(1 << 20);
  const a = new Uint8Array(40_000).fill(1);
  const b = new Uint8Array([9, 8, 7]);
  const got = [...toChunks(a, 1000), ...toChunks(b, 1000)].map((c) => joiner.push(c)).filter((x) => x !== undefined);
  assert.deepEqual(got, [a, b]);
});

test('an oversized or malformed message is refused', () => {
  const joiner = new ChunkJoiner(10_000);
  assert.throws(() => toChunks(new Uint8Array(20_000), 4096).forEach((c) => joiner.push(c)), /over 10000 bytes/);
  assert.throws(() => new ChunkJoiner(100).push(new Uint8Array([7, 1, 2])), /malformed/);
  assert.throws(() => new ChunkJoiner(100).push(new Uint8Array(0)), /malformed/);
});

test('the chunk size follows the channel: its agreed maximum, capped, or 16 KiB when unknown', () => {
  assert.equal(chunkSize(undefined), SAFE_CHUNK_BYTES);
  assert.equal(chunkSize(null), SAFE_CHUNK_BYTES);
  assert.equal(chunkSize(262144), 262144);
  assert.equal(chunkSize(1073741823), 256 * 1024);
  assert.equal(chunkSize(Infinity), 256 * 1024);
  assert.equal(chunkSize(0), SAFE_CHUNK_BYTES);
});
