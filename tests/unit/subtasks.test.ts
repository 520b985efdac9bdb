// A page's own subtasks, from spawn to outcome, without a browser: where
// each one is (ready, here, at the grid, lent to a peer), what leaves when
// a thief or the coordinator asks, and that every outcome reaches the Web
// Worker that spawned it once. The browser tests (tests/e2e/peer-offload,
// core, faults, requeue) run the same class inside the runtime.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COPY_AFTER_MS, Subtasks, type Subtask, type SubtaskHost } from '../../browser-worker/subtasks.ts';
import type { PeerLink } from '../../browser-worker/peer-offload.ts';
import type { Slot } from '../../browser-worker/worker-pool.ts';
import type { RunId, SubtaskId } from '../../browser-worker/task-origin.ts';
import type { PeerMessage, ReleasedTask, TaskOutcome, TaskSpec } from '../../protocol/messages.ts';

class FakeLink implements PeerLink {
  readonly outgoing = false;
  readonly open = true;
  constructor(readonly peer: string) {}
  send(_msg: PeerMessage): void {}
  close(): void {}
}

// The class hands a subtask's Slot back to the runtime untouched (see
// SubtaskHost.answered): any object stands for the Web Worker here.
const slot = {} as Slot;
const BUNDLE = 'b'.repeat(64);

/** The page around the subtasks, recorded; task functions take `ms` each here. */
function harness(ms = 1000) {
  let nextRun = 1;
  const calls = {
    answered: [] as { local: number; outcome: TaskOutcome }[],
    toGrid: [] as ReleasedTask[],
    cancelled: [] as SubtaskId[],
    withdrawn: [] as [string, SubtaskId][],
  };
  const host: SubtaskHost = {
    answered: (sub, outcome) => void calls.answered.push({ local: sub.local, outcome }),
    toGrid: (task) => void calls.toGrid.push(task),
    // Arguments of more than 8 bytes stand for a subtask over the coordinator's task limit.
    fitsGrid: (spec) => spec.args.byteLength <= 8,
    cancelAtGrid: (id) => void calls.cancelled.push(id),
    withdrawFromPeer: (link, id) => void calls.withdrawn.push([link.peer, id]),
    newRun: () => -nextRun++ as RunId,
    usualMs: () => ms,
  };
  const subs = new Subtasks(host);
  /** Spawns a subtask of worker-local id `local` under grid task 7. */
  const spawn = (local: number, extra: Partial<TaskSpec> = {}, parentKey?: string): Subtask =>
    subs.add({ id: local, bundle: BUNDLE, fn: 'leaf', args: new Uint8Array([local]), parent: 99, ...extra }, { slot, scope: 'client-1', under: { task: 7 }, parentKey });
  /** Runs every ready subtask that `room` lets in, returning the specs run. */
  const runAll = (room = Infinity): TaskSpec[] => {
    const ran: TaskSpec[] = [];
    subs.runReady((task) => ran.length < room && ran.push(task) > 0);
    return ran;
  };
  return { subs, calls, spawn, runAll };
}

const ok = (id: number, value = 1): TaskOutcome => ({ id, ok: true, value: new Uint8Array([value]) });

test('a spawned subtask gets its own id and a spec for anywhere: the scope of its Web Worker, the options asked, no parent', () => {
  const { subs, spawn } = harness();
  const a = spawn(1, { timeout: 50, attempts: 2, chunk: true, verify: 2, needs: ['webgpu'] });
  const b = spawn(2);
  assert.notEqual(a.id, b.id);
  assert.deepEqual(a.spec, { id: a.id, bundle: BUNDLE, fn: 'leaf', args: new Uint8Array([1]), scope: 'client-1', needs: ['webgpu'], timeout: 50, attempts: 2, chunk: true, verify: 2 });
  assert.deepEqual(b.spec, { id: b.id, bundle: BUNDLE, fn: 'leaf', args: new Uint8Array([2]), scope: 'client-1' });
  assert.deepEqual(a.at, { kind: 'ready' });
  assert.equal(subs.get(a.id), a);
  assert.equal(subs.waiting, 2);
});

test('ready subtasks run here newest first, each under a fresh run id, until a Web Worker has no room', () => {
  const { subs, spawn, runAll } = harness();
  const [a, b, c] = [spawn(1), spawn(2), spawn(3)];
  const ran = runAll(2);
  assert.deepEqual(ran.map((t) => t.args), [c.spec.args, b.spec.args]);
  assert.ok(ran.every((t) => t.id < 0) && ran[0].id !== ran[1].id, 'runs are named apart from the subtasks');
  assert.deepEqual(c.at, { kind: 'here', run: ran[0].id });
  assert.equal(subs.ofRun(ran[1].id as RunId), b);
  assert.deepEqual(a.at, { kind: 'ready' });
  assert.equal(subs.waiting, 1);
  assert.equal(subs.running, 2);
});

test('a run here answers the Web Worker that spawned the subtask, once, by its local id', () => {
  const { subs, calls, spawn, runAll } = harness();
  const sub = spawn(41);
  const [task] = runAll();
  subs.finished(task.id as RunId, ok(task.id, 5));
  subs.finished(task.id as RunId, ok(task.id, 6));
  assert.deepEqual(calls.answered, [{ local: 41, outcome: ok(sub.id, 5) }]);
  assert.equal(subs.running, 0);
  assert.equal(subs.get(sub.id), undefined);
});

test('a thief gets the oldest ready subtasks, only those it meets every need of, never verified ones', () => {
  const { subs, calls, spawn } = harness();
  const plain = spawn(1);
  const gpu = spawn(2, { needs: ['webgpu'] });
  const verified = spawn(3, { verify: 2 });
  const later = spawn(4);
  const link = new FakeLink('thief');
  const lent = subs.lend(link, 2, [], 100);
  assert.deepEqual(
    lent.map((t) => t.id),
    [plain.id, later.id],
  );
  assert.deepEqual(plain.at, { kind: 'lent', link, since: 100 });
  assert.deepEqual(gpu.at, { kind: 'ready' });
  assert.deepEqual(verified.at, { kind: 'ready' });
  assert.equal(calls.toGrid.length, 0, 'the thief got all it asked for: nothing verified leaves');
  assert.equal(subs.anyLent, true);
  assert.deepEqual(subs.get(plain.id)?.under, { task: 7 }, 'a lent subtask goes under the task it descends from');
});

test('verified subtasks a thief could have had go to the grid instead, under the task they descend from', () => {
  const { subs, calls, spawn } = harness();
  const verified = spawn(1, { verify: 'adaptive' });
  const plain = spawn(2);
  const lent = subs.lend(new FakeLink('thief'), 3, [], 0);
  assert.deepEqual(
    lent.map((t) => t.id),
    [plain.id],
  );
  assert.deepEqual(calls.toGrid, [{ ...verified.spec, under: { task: 7 } }]);
  assert.deepEqual(verified.at, { kind: 'grid' });
  assert.equal(subs.waiting, 0);
});

test('tiny subtasks leave several per thread asked for, at most half of those ready', () => {
  const { subs, calls, spawn } = harness(1);
  for (let i = 1; i <= 40; i++) spawn(i);
  subs.release(1);
  assert.equal(calls.toGrid.length, 20);
  assert.deepEqual(
    calls.toGrid.map((t) => t.args[0]),
    Array.from({ length: 20 }, (_, i) => i + 1),
    'the oldest leave',
  );
  const slow = harness(1000);
  for (let i = 1; i <= 40; i++) slow.spawn(i);
  slow.subs.release(3);
  assert.equal(slow.calls.toGrid.length, 3, 'long ones leave one per thread asked for');
});

test('a subtask over the task limit never goes to the grid (verified or not): it stays ready and runs here; a peer may take it', () => {
  const { subs, calls, spawn, runAll } = harness();
  const big = spawn(1, { args: new Uint8Array(9) });
  const bigVerified = spawn(2, { args: new Uint8Array(9), verify: 2 });
  const small = spawn(3);
  subs.release(3);
  assert.deepEqual(
    calls.toGrid.map((t) => t.id),
    [small.id],
  );
  assert.deepEqual(
    subs.lend(new FakeLink('thief'), 3, [], 0).map((t) => t.id),
    [big.id],
    'a peer may take the unverified one',
  );
  assert.equal(calls.toGrid.length, 1, 'the verified one stays, even when a thief asks');
  assert.deepEqual(
    runAll().map((t) => t.args.byteLength),
    [9],
  );
  assert.equal(bigVerified.at.kind, 'here');
});

test('an outcome from the grid answers only a subtask released there', () => {
  const { subs, calls, spawn, runAll } = harness();
  const released = spawn(1);
  subs.release(1);
  const here = spawn(2);
  runAll();
  subs.fromGrid(ok(here.id));
  assert.equal(calls.answered.length, 0);
  subs.fromGrid(ok(released.id, 9));
  assert.deepEqual(calls.answered, [{ local: 1, outcome: ok(released.id, 9) }]);
});

test('a lent subtask answers only from the link that holds it', () => {
  const { subs, calls, spawn } = harness();
  const sub = spawn(1);
  const link = new FakeLink('a');
  subs.lend(link, 1, [], 0);
  subs.returned(new FakeLink('a'), sub.id, ok(sub.id));
  assert.equal(calls.answered.length, 0);
  subs.returned(link, sub.id, ok(sub.id, 3));
  assert.deepEqual(calls.answered, [{ local: 1, outcome: ok(sub.id, 3) }]);
  assert.equal(subs.anyLent, false);
});

test('a subtask whose peer left waits first in line, and fails with TaskLostError after as many peers as attempts', () => {
  const { subs, calls, spawn } = harness();
  const sub = spawn(1, { attempts: 2 });
  spawn(2);
  const a = new FakeLink('a');
  subs.lend(a, 1, [], 0);
  assert.deepEqual(sub.at.kind, 'lent');
  subs.reclaim(new FakeLink('other'), [sub.id]);
  assert.equal(sub.at.kind, 'lent', 'another link cannot take it back');
  subs.reclaim(a, [sub.id]);
  assert.deepEqual(sub.at, { kind: 'ready' });
  assert.equal(sub.attempts, 1);
  const b = new FakeLink('b');
  assert.deepEqual(
    subs.lend(b, 1, [], 0).map((t) => t.id),
    [sub.id],
    'back first in line: the oldest',
  );
  subs.reclaim(b, [sub.id]);
  assert.equal(calls.answered.length, 1);
  const { outcome } = calls.answered[0];
  assert.equal(outcome.ok, false);
  assert.equal(!outcome.ok && outcome.kind, 'lost');
  assert.equal(!outcome.ok && outcome.error.name, 'TaskLostError');
  assert.equal(subs.get(sub.id), undefined);
});

test('an overdue lent subtask is copied here once; the first outcome wins and the peer is told to stop', () => {
  const { subs, calls, spawn } = harness(100);
  const sub = spawn(1);
  const link = new FakeLink('slow');
  subs.lend(link, 1, [], 0);
  const copies: TaskSpec[] = [];
  const place = (task: TaskSpec) => copies.push(task) > 0;
  assert.equal(subs.copyOverdue(COPY_AFTER_MS - 1, place), 0, 'not before COPY_AFTER_MS');
  assert.equal(subs.copyOverdue(COPY_AFTER_MS, place), 1);
  assert.equal(subs.copyOverdue(COPY_AFTER_MS * 5, place), 0, 'one copy at a time');
  assert.equal(copies.length, 1);
  assert.equal(copies[0].args, sub.spec.args);
  subs.finished(copies[0].id as RunId, ok(copies[0].id, 4));
  assert.deepEqual(calls.withdrawn, [['slow', sub.id]]);
  assert.deepEqual(calls.answered, [{ local: 1, outcome: ok(sub.id, 4) }]);
  subs.returned(link, sub.id, ok(sub.id, 5));
  assert.equal(calls.answered.length, 1, 'the late answer from the peer is dropped');
});

test('a copy waits for twice the usual time of its function, and a function that spawns is never copied', () => {
  const { subs, spawn } = harness(2000);
  spawn(1);
  spawn(2, { fn: 'parent' });
  spawn(3, {}, `${BUNDLE}:parent`);
  subs.lend(new FakeLink('slow'), 2, [], 0);
  const copies: TaskSpec[] = [];
  const place = (task: TaskSpec) => copies.push(task) > 0;
  assert.equal(subs.copyOverdue(3999, place), 0);
  assert.equal(subs.copyOverdue(4000, place), 1);
  assert.equal(copies[0].fn, 'leaf');
});

test('when the peer holding a copied subtask leaves, the copy is the run (no attempt is counted)', () => {
  const { subs, calls, spawn } = harness(0);
  const sub = spawn(1);
  const link = new FakeLink('gone');
  subs.lend(link, 1, [], 0);
  const copies: TaskSpec[] = [];
  subs.copyOverdue(COPY_AFTER_MS, (task) => copies.push(task) > 0);
  subs.reclaim(link, [sub.id]);
  assert.deepEqual(sub.at, { kind: 'here', run: copies[0].id });
  assert.equal(sub.attempts, 0);
  subs.finished(copies[0].id as RunId, ok(copies[0].id));
  assert.equal(calls.answered.length, 1);
  assert.deepEqual(calls.withdrawn, [], 'the peer is gone already');
});

test('a withdrawn subtask stops wherever it is: ready, here, at the grid, lent (with its copy)', () => {
  const { subs, calls, spawn, runAll } = harness(0);
  const link = new FakeLink('p');
  const lent = spawn(1);
  subs.lend(link, 1, [], 0);
  const copies: TaskSpec[] = [];
  subs.copyOverdue(COPY_AFTER_MS, (task) => copies.push(task) > 0);
  const atGrid = spawn(2);
  subs.release(1);
  const here = spawn(3);
  const [run] = runAll();
  const ready = spawn(4);
  for (const sub of [lent, atGrid, here, ready]) subs.withdraw(sub.id);
  assert.deepEqual(calls.withdrawn, [['p', lent.id]]);
  assert.deepEqual(calls.cancelled, [atGrid.id]);
  assert.equal(subs.waiting, 0);
  assert.equal(subs.running, 0);
  assert.equal(subs.anyLent, false);
  subs.finished(run.id as RunId, ok(run.id));
  subs.finished(copies[0].id as RunId, ok(copies[0].id));
  subs.fromGrid(ok(atGrid.id));
  subs.returned(link, lent.id, ok(lent.id));
  assert.equal(calls.answered.length, 0, 'nothing answers a withdrawn subtask');
});

test('a run whose Web Worker was replaced waits again; a copy is just dropped (the peer still holds it)', () => {
  const { subs, spawn, runAll } = harness(0);
  const lent = spawn(1);
  const link = new FakeLink('p');
  subs.lend(link, 1, [], 0);
  const copies: TaskSpec[] = [];
  subs.copyOverdue(COPY_AFTER_MS, (task) => copies.push(task) > 0);
  const here = spawn(2);
  const [run] = runAll();
  subs.requeue(run.id as RunId);
  subs.requeue(copies[0].id as RunId);
  assert.deepEqual(here.at, { kind: 'ready' });
  assert.equal(lent.at.kind, 'lent');
  assert.equal(subs.running, 0);
  const [again] = runAll();
  assert.notEqual(again.id, run.id);
  assert.equal(subs.copyOverdue(COPY_AFTER_MS, (task) => copies.push(task) > 0), 1, 'the dropped copy may be made again');
});

test('ready subtasks of a bundle that cannot load fail; others wait on', () => {
  const { subs, calls, spawn } = harness();
  spawn(1);
  spawn(2, { bundle: 'c'.repeat(64) });
  const error = { name: 'Error', message: 'bundle not found' };
  subs.failBundle(BUNDLE, error);
  assert.equal(calls.answered.length, 1);
  assert.equal(calls.answered[0].local, 1);
  assert.deepEqual(calls.answered[0].outcome.ok ? undefined : calls.answered[0].outcome.error, error);
  assert.equal(subs.waiting, 1);
});

test('after clear nothing is awaited, and new subtasks get new ids', () => {
  const { subs, calls, spawn, runAll } = harness();
  const a = spawn(1);
  const [run] = runAll();
  subs.clear();
  subs.finished(run.id as RunId, ok(run.id));
  assert.equal(calls.answered.length, 0);
  assert.equal(subs.running + subs.waiting, 0);
  assert.notEqual(spawn(1).id, a.id);
});
