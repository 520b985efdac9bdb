import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OffloadRecord } from '../../coordinator/offload-record.ts';
import type { ScopeId } from '../../coordinator/ids.ts';

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

test("the record knows the tree of a lent subtask, for its holder only, until it is settled or its pages leave", () => {
  const r = new OffloadRecord();
  const tree = 'tree-1' as ScopeId;
  r.offloaded('a', 'b', [1, 2], [tree, undefined]);
  assert.equal(r.scopeHeld('b', 'a', 1), tree);
  assert.equal(r.scopeHeld('c', 'a', 1), undefined, 'not for a page that does not hold it');
  assert.equal(r.scopeHeld('b', 'a', 2), undefined, 'not when the giver could not show its tree');
  assert.equal(r.scopeHeld('b', 'a', 3), undefined, 'not for an id never lent');
  // Lent again to another page (after it came back): the new holder has it.
  r.returned('a', [1]);
  assert.equal(r.scopeHeld('b', 'a', 1), undefined);
  r.offloaded('a', 'c', [1], [tree]);
  assert.equal(r.scopeHeld('c', 'a', 1), tree);
  r.offloaded('a', 'b', [1], [tree]);
  assert.equal(r.heldBy('c'), 0, 'one id is held by one page');
  assert.equal(r.heldBy('b'), 2);
  r.pageGone('b');
  assert.equal(r.scopeHeld('b', 'a', 1), undefined);
  assert.equal(r.onPeers, 0);
});
