import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OffloadRecord } from '../../coordinator/offload-record.ts';

test('the offload record counts what each page holds for others and forgets settled subtasks', () => {
  const r = new OffloadRecord();
  r.offloaded('a', 'b', [1, 2, 3]);
  r.offloaded('c', 'b', [1]);
  assert.equal(r.heldBy('b'), 4);
  assert.equal(r.onPeers, 4);
  r.returned('a', [2, 99]);
  assert.equal(r.heldBy('b'), 3, 'an unknown id changes nothing');
  r.returned('a', [1, 3]);
  assert.equal(r.heldBy('b'), 1);
  assert.equal(r.onPeers, 1);
});

test('a page that leaves names the pages on either side of its offloads', () => {
  const r = new OffloadRecord();
  r.offloaded('a', 'b', [1, 2]);
  r.offloaded('b', 'd', [7]);
  r.offloaded('a', 'd', [3]);
  assert.deepEqual([...r.pageGone('b')].sort(), ['a', 'd']);
  assert.equal(r.heldBy('b'), 0);
  assert.equal(r.heldBy('d'), 1, "a's subtask on d is still there");
  assert.equal(r.onPeers, 1);
  assert.deepEqual([...r.pageGone('b')], [], 'forgotten once');
});
