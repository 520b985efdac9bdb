import { test } from 'node:test';
import assert from 'node:assert/strict';
import { batchesBySize } from '../../protocol/frame-batches.ts';
import { DEFAULT_LIMITS, FRAME_OVERHEAD_BYTES, taskFrameBytes } from '../../protocol/limits.ts';
import { encodeFrame, type TaskSpec } from '../../protocol/messages.ts';
import { pack } from '../../protocol/codec.ts';

const id = (n: number) => n;

test('batches keep the order and stay within the byte and item limits', () => {
  const sizes = [5, 5, 5, 1, 9, 2, 2, 2, 2, 10, 1];
  const batches = batchesBySize(sizes, id, 10, 3);
  assert.deepEqual(batches.flat(), sizes, 'every item once, in order');
  for (const b of batches) {
    assert.ok(b.length <= 3);
    assert.ok(b.reduce((a, x) => a + x, 0) <= 10);
  }
  assert.deepEqual(batches, [[5, 5], [5, 1], [9], [2, 2, 2], [2], [10], [1]]);
});

test('an item larger than the limit goes alone; nothing is dropped', () => {
  assert.deepEqual(batchesBySize([1, 50, 1], id, 10, 100), [[1], [50], [1]]);
  assert.deepEqual(batchesBySize([], id, 10, 100), []);
});

test('the item limit applies to small items', () => {
  const batches = batchesBySize(Array.from({ length: 5000 }, () => 1), id, 1e9, 2048);
  assert.deepEqual(batches.map((b) => b.length), [2048, 2048, 904]);
});

test("20 tasks of 4 MB make submit frames under the coordinator's 64 MiB limit, as encoded", () => {
  const args = pack([new Float64Array(500_000)]);
  const tasks: TaskSpec[] = Array.from({ length: 20 }, (_, i) => ({ id: i + 1, bundle: 'a'.repeat(64), fn: 'echo', args, timeout: 1000 }));
  const batches = batchesBySize(tasks, taskFrameBytes, DEFAULT_LIMITS.frameBytes - FRAME_OVERHEAD_BYTES, 2048);
  assert.ok(batches.length >= 2);
  for (const b of batches) assert.ok(encodeFrame({ t: 'submit', seq: 1, tasks: b }).byteLength <= DEFAULT_LIMITS.frameBytes);
  assert.deepEqual(batches.flat().map((t) => t.id), tasks.map((t) => t.id));
});
