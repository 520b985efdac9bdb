// The task store: owners as tagged values (a client and a page with the same
// id string stay apart), lookups by owner and by tree, and outcome counts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TaskStore, clientOwner, pageOwner } from '../../coordinator/task-store.ts';
import type { ClientId, PageId, ScopeId } from '../../coordinator/ids.ts';
import type { TaskSpec } from '../../protocol/messages.ts';

const spec = (id: number, extra: Partial<TaskSpec> = {}): TaskSpec => ({ id, bundle: 'b'.repeat(64), fn: 'f', args: new Uint8Array([id]), ...extra });
const alice = 'alice' as ClientId;
const bob = 'bob' as ClientId;
/** The trees of alice and bob, as pages know them. */
const treeA = 'tree-a' as ScopeId;
const treeB = 'tree-b' as ScopeId;

test('a task gets a fresh grid id; the spec sent to pages carries it, the tree and only the options pages need', () => {
  const store = new TaskStore(3);
  const a = store.add(clientOwner(alice), treeA, spec(7, { timeout: 50, attempts: 5, scope: 'made-up', parent: 9 }));
  const b = store.add(clientOwner(alice), treeA, spec(8));
  assert.notEqual(a.id, b.id);
  assert.deepEqual(a.spec, { id: a.id, bundle: 'b'.repeat(64), fn: 'f', args: new Uint8Array([7]), scope: treeA, timeout: 50 });
  assert.equal(a.maxAttempts, 5);
  assert.equal(b.maxAttempts, 3, 'the default attempts');
  assert.equal(a.ownerTaskId, 7);
  assert.equal(store.get(a.id), a);
  assert.equal(store.size, 2);
});

test("owners are kept apart by kind: a page whose id equals a client's does not see the client's tasks", () => {
  const store = new TaskStore();
  const same = 'x';
  const fromClient = store.add(clientOwner(same as ClientId), treeA, spec(1));
  const fromPage = store.add(pageOwner(same as PageId), treeA, spec(1));
  assert.equal(store.lookup(clientOwner(same as ClientId), 1), fromClient.id);
  assert.equal(store.lookup(pageOwner(same as PageId), 1), fromPage.id);
  assert.deepEqual(store.ofOwner(pageOwner(same as PageId)), [fromPage.id]);
  assert.equal(store.lookup(pageOwner('other' as PageId), 1), undefined);
});

test('tasks are found by tree, and leave every index when removed', () => {
  const store = new TaskStore();
  const a1 = store.add(clientOwner(alice), treeA, spec(1));
  const a2 = store.add(pageOwner('p1' as PageId), treeA, spec(1));
  const b1 = store.add(clientOwner(bob), treeB, spec(1));
  assert.equal(store.scopeSize(treeA), 2);
  assert.deepEqual(store.ofScope(treeA).sort(), [a1.id, a2.id].sort());
  assert.deepEqual(store.ofScope(treeB), [b1.id]);

  assert.equal(store.remove(a2.id, 'cancelled'), a2);
  assert.equal(store.remove(a2.id, 'cancelled'), undefined, 'a second removal finds nothing');
  assert.equal(store.get(a2.id), undefined);
  assert.equal(store.lookup(pageOwner('p1' as PageId), 1), undefined);
  assert.deepEqual(store.ofOwner(pageOwner('p1' as PageId)), []);
  assert.equal(store.scopeSize(treeA), 1);
  assert.equal(store.size, 2);
});

test('outcomes are counted: completed and failed (cancelled ones are not)', () => {
  const store = new TaskStore();
  const ids = [1, 2, 3].map((n) => store.add(clientOwner(alice), treeA, spec(n)).id);
  store.remove(ids[0], 'completed');
  store.remove(ids[1], 'failed');
  store.remove(ids[2], 'cancelled');
  assert.equal(store.completed, 1);
  assert.equal(store.failed, 1);
  assert.equal(store.size, 0);
  assert.equal(store.scopeSize(treeA), 0);
});

test("a verified task's replicas live in its tree, count against its owner's bound, and leave without counting as outcomes", () => {
  const store = new TaskStore();
  const owner = clientOwner('c1' as ClientId);
  const task = store.add(owner, 's1' as ScopeId, { id: 7, bundle: 'b', fn: 'f', args: new Uint8Array(), verify: 2 });
  const r1 = store.addReplica(task, task.spec);
  const r2 = store.addReplica(task, task.spec);
  assert.equal(r1.replicaOf, task.id);
  assert.notEqual(r1.id, r2.id);
  assert.equal(r1.spec.id, r1.id, 'a page sees the replica by its own id');
  assert.equal(store.ownerSize(owner), 3);
  assert.deepEqual(store.ofScope('s1' as ScopeId).sort(), [task.id, r1.id, r2.id].sort());
  assert.equal(store.lookup(owner, 7), task.id, "the owner's id names the task, not a replica");
  store.remove(r1.id, 'completed');
  store.remove(r2.id, 'completed');
  assert.equal(store.completed, 0);
  assert.equal(store.ownerSize(owner), 1);
  store.remove(task.id, 'completed');
  assert.equal(store.completed, 1);
  assert.equal(store.ownerSize(owner), 0);
});
