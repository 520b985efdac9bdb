// The task lifecycle's policies: what a lost page, a task past its attempts,
// a cancelled tree and a duplicate result do to tasks, and what the events
// say; then the same policies through the hub over fake sockets, where job
// statistics and the tasks' owners follow the events. The real sockets and
// browsers are tests/e2e (requeue, faults, core).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { WebSocket } from 'ws';
import { TaskLifecycle, type LifecycleEvents } from '../../coordinator/task-lifecycle.ts';
import { Hub } from '../../coordinator/hub.ts';
import { TokenSet } from '../../coordinator/auth.ts';
import { clientOwner, pageOwner } from '../../coordinator/task-store.ts';
import type { ClientId, PageId, ScopeId, TaskId } from '../../coordinator/ids.ts';
import { PROTOCOL_VERSION, type TaskOutcome, type TaskSpec, type ToClient, type ToPage } from '../../protocol/messages.ts';
import { packValue, unpack } from '../../protocol/codec.ts';
import { clientSocket, pageSocket, turn, type FakeSocket } from '../helpers/fake-socket.ts';

const BUNDLE = 'b'.repeat(64);
const CLIENT = 'client-1' as ClientId;
const SCOPE = 'scope-1' as ScopeId;
const JOB = { client: CLIENT, job: '0' };

function pack(value: unknown): Uint8Array {
  const bytes = packValue(value, 'value');
  if (!(bytes instanceof Uint8Array)) throw new Error('unpackable');
  return bytes;
}

const spec = (id: number, extra: Partial<TaskSpec> = {}): TaskSpec => ({ id, bundle: BUNDLE, fn: 'square', args: pack([id]), ...extra });

/** A lifecycle with no verification and no pages' seats, and every event it emits, in order. */
function lifecycle(maxAttempts = 3) {
  const lc = new TaskLifecycle({ maxAttempts }, { seatOf: () => undefined, seats: () => [], ask: () => false });
  const events: { [K in keyof LifecycleEvents]: LifecycleEvents[K][] } = { ended: [], requeued: [], started: [], outcome: [], revoke: [], verifyWaits: [] };
  for (const name of Object.keys(events) as (keyof LifecycleEvents)[]) {
    lc.on(name, (...args: LifecycleEvents[typeof name]) => (events[name] as unknown[]).push(args));
  }
  /** Adds a page and hands it what the scheduler gives it. */
  const page = (id: string, threads = 4): { id: PageId; took: TaskId[] } => {
    const pageId = id as PageId;
    lc.scheduler.addPage(pageId, threads);
    return { id: pageId, took: lc.scheduler.dispatch().send.get(pageId) ?? [] };
  };
  return { lc, events, page };
}

test("a lost page's tasks are queued again, each with 'requeued', and another page gets them", () => {
  const { lc, events, page } = lifecycle();
  const ids = [1, 2].map((n) => lc.enqueue(clientOwner(CLIENT), SCOPE, spec(n), JOB));
  const a = page('a');
  assert.deepEqual(a.took.sort(), ids.sort());
  lc.pageLost(a.id);
  assert.deepEqual(events.requeued.map(([r]) => r.id).sort(), ids.sort());
  assert.ok(events.requeued.every(([r]) => r.attempts === 1 && !r.started), 'a lost run counts as an attempt and is no longer started');
  assert.equal(events.ended.length, 0, 'nothing ended');
  assert.deepEqual(page('b').took.sort(), ids.sort());
});

test('a task lost past its attempts fails with a TaskLostError outcome for its owner, and ends once', () => {
  const { lc, events, page } = lifecycle();
  const id = lc.enqueue(clientOwner(CLIENT), SCOPE, spec(7, { attempts: 2 }), JOB);
  for (const name of ['a', 'b']) {
    const p = page(name);
    assert.deepEqual(p.took, [id], `page ${name} gets the task`);
    lc.pageLost(p.id);
  }
  assert.equal(events.requeued.length, 1, 'requeued after the first loss only');
  assert.deepEqual(events.ended.map(([r, how]) => [r.id, how]), [[id, 'failed']]);
  const [[record, outcome]] = events.outcome;
  assert.equal(record.owner.kind, 'client');
  assert.equal(outcome.id, 7, "the owner's id for it");
  assert.ok(!outcome.ok && outcome.kind === 'lost' && outcome.error.name === 'TaskLostError');
  assert.match(outcome.error.message, /lost 2 times/);
  assert.equal(lc.store.failed, 1);
  assert.equal(page('c').took.length, 0, 'it is not queued again');
});

test('a task given back counts as lost only from the page holding it', () => {
  const { lc, events, page } = lifecycle();
  const id = lc.enqueue(clientOwner(CLIENT), SCOPE, spec(1), JOB);
  const a = page('a');
  page('b');
  lc.lost(id, 'b' as PageId);
  assert.equal(events.requeued.length, 0, 'a page cannot give back what it does not hold');
  lc.lost(id, a.id);
  assert.deepEqual(events.requeued.map(([r]) => r.id), [id]);
});

test("cancelling a client's tree revokes its tasks on their pages and settles a page's subtask with a cancelled outcome", () => {
  const { lc, events, page } = lifecycle();
  const parent = lc.enqueue(clientOwner(CLIENT), SCOPE, spec(1), JOB);
  // One slot each: the subtask cannot go where its parent runs.
  const a = page('a', 1);
  lc.started(parent, a.id);
  const sub = lc.enqueue(pageOwner(a.id), SCOPE, spec(50), JOB);
  const b = page('b', 1);
  assert.deepEqual([a.took, b.took], [[parent], [sub]]);
  lc.cancelScope(SCOPE);
  assert.deepEqual(events.ended.map(([r, how]) => [r.id, how]).sort(), [[parent, 'cancelled'], [sub, 'cancelled']]);
  assert.deepEqual(events.revoke.sort(), [[a.id, parent], [b.id, sub]]);
  // The client cancelled its own: it hears nothing; the page awaits its subtask's future.
  assert.equal(events.outcome.length, 1);
  const [[record, outcome]] = events.outcome;
  assert.deepEqual(record.owner, pageOwner(a.id));
  assert.ok(!outcome.ok && outcome.kind === 'cancelled' && outcome.id === 50);
  assert.equal(lc.store.size, 0);
});

test("a result from a page that does not hold the task is a duplicate: nothing ends", () => {
  const { lc, events, page } = lifecycle();
  const id = lc.enqueue(clientOwner(CLIENT), SCOPE, spec(1), JOB);
  const a = page('a');
  const b = page('b');
  const seat = { identity: 'x', address: '10.0.0.1' };
  lc.result(b.id, seat, { id, ok: true, value: pack(1) });
  assert.equal(events.ended.length, 0);
  lc.result(a.id, seat, { id, ok: true, value: pack(1) });
  lc.result(a.id, seat, { id, ok: true, value: pack(1) });
  assert.deepEqual(events.ended.map(([r, how]) => [r.id, how]), [[id, 'completed']]);
  assert.equal(events.outcome.length, 1, 'the owner gets one result');
  assert.equal(lc.store.completed, 1);
});

// ---- through the hub, over fake sockets ----

async function grid() {
  const hub = new Hub({ tokens: new TokenSet({ default: 'tok' }) });
  const client = clientSocket();
  hub.accept(client as unknown as WebSocket, '10.9.9.9');
  client.deliver({ t: 'hello', role: 'client', token: 'tok', version: PROTOCOL_VERSION });
  let seq = 0;
  return {
    hub,
    client,
    async join(name: string): Promise<FakeSocket<ToPage>> {
      const ws = pageSocket();
      hub.accept(ws as unknown as WebSocket, '10.0.0.1');
      ws.deliver({ t: 'hello', role: 'worker', threads: 4, userAgent: name, version: PROTOCOL_VERSION, identity: name.padEnd(43, '_') });
      await turn();
      return ws;
    },
    send(msg: Record<string, unknown>) {
      client.deliver({ ...msg, seq: ++seq });
    },
    results(): TaskOutcome[] {
      return client.take<Extract<ToClient, { t: 'results' }>>('results').flatMap((m) => m.results);
    },
  };
}

const held = (ws: FakeSocket<ToPage>) => ws.take<Extract<ToPage, { t: 'tasks' }>>('tasks').flatMap((m) => m.tasks);
const report = (ws: FakeSocket<ToPage>, results: TaskOutcome[], extra: Record<string, unknown> = {}) =>
  ws.deliver({ t: 'report', started: results.map((r) => r.id), results, lost: [], submit: [], cancel: [], blocked: 0, ready: 0, local: 0, ...extra });

test("job statistics follow the tasks' ends: one done, one failed, one cancelled, each counted once", async () => {
  const g = await grid();
  const page = await g.join('a');
  g.send({ t: 'submit', tasks: [spec(1), spec(2), spec(3)] });
  await turn();
  const tasks = held(page);
  assert.equal(tasks.length, 3);
  const byArg = (x: number) => tasks.find((t) => (unpack(t.args) as number[])[0] === x)!;
  const ok: TaskOutcome = { id: byArg(1).id, ok: true, value: pack(1) };
  report(page, [ok, { id: byArg(2).id, ok: false, error: { name: 'Error', message: 'boom' } }]);
  g.send({ t: 'cancel', ids: [3] });
  report(page, [ok]);
  await turn();
  const [job] = g.hub.stats().jobs;
  assert.deepEqual([job.submitted, job.done, job.failed, job.cancelled], [3, 1, 1, 1]);
  assert.deepEqual(page.take<Extract<ToPage, { t: 'cancel' }>>('cancel').flatMap((m) => m.ids), [byArg(3).id], 'the page drops the cancelled task');
  assert.deepEqual(g.results().map((r) => [r.id, r.ok]).sort(), [[1, true], [2, false]], 'the client gets each end once; its cancel it knows');
  g.hub.closeAll(1001, 'test over');
});

test('a page that leaves: its tasks run on another page, and the client gets each result once', async () => {
  const g = await grid();
  const a = await g.join('a');
  g.send({ t: 'submit', tasks: [spec(1), spec(2)] });
  await turn();
  const first = held(a);
  assert.equal(first.length, 2);
  report(a, [], { started: first.map((t) => t.id) });
  a.close(1001, 'tab closed');
  const b = await g.join('b');
  const again = held(b);
  assert.deepEqual(again.map((t) => t.id).sort(), first.map((t) => t.id).sort(), 'the same tasks, under the same grid ids');
  report(b, again.map((t) => ({ id: t.id, ok: true, value: pack((unpack(t.args) as number[])[0] * 10) })));
  await turn();
  assert.deepEqual(g.results().map((r) => [r.id, r.ok && unpack(r.value)]).sort(), [[1, 10], [2, 20]]);
  const stats = g.hub.stats();
  assert.deepEqual([stats.completed, stats.failed, stats.jobs[0].done], [2, 0, 2]);
  g.hub.closeAll(1001, 'test over');
});

test('a task whose pages keep leaving fails with TaskLostError after its attempts, and its job counts it failed', async () => {
  const g = await grid();
  g.send({ t: 'submit', tasks: [spec(1, { attempts: 2 })] });
  for (const name of ['a', 'b']) {
    const page = await g.join(name);
    assert.equal(held(page).length, 1, `page ${name} gets the task`);
    page.close(1006, '');
  }
  await turn();
  const [outcome] = g.results();
  assert.ok(outcome && !outcome.ok && outcome.kind === 'lost', `got ${JSON.stringify(outcome)}`);
  assert.equal(outcome.error.name, 'TaskLostError');
  const stats = g.hub.stats();
  assert.deepEqual([stats.failed, stats.jobs[0].failed, stats.queued + stats.running], [1, 1, 0]);
  g.hub.closeAll(1001, 'test over');
});

test("a page's subtask released to the grid runs and its result goes back to the page, under the page's id", async () => {
  const g = await grid();
  const a = await g.join('a');
  g.send({ t: 'submit', tasks: [spec(1)] });
  await turn();
  const [parent] = held(a);
  const b = await g.join('b');
  // Page a runs the parent and hands subtask 900 to the grid.
  a.deliver({ t: 'report', started: [parent.id], results: [], lost: [], submit: [{ ...spec(900), under: { task: parent.id } }], cancel: [], blocked: 1, ready: 0, local: 0 });
  await turn();
  const runner = [a, b].find((p) => p.received.some((m) => m.t === 'tasks'));
  assert.ok(runner, 'a page got the subtask');
  const [sub] = held(runner);
  assert.notEqual(sub.id, 900, 'pages see it under a grid id');
  report(runner, [{ id: sub.id, ok: true, value: pack(42) }]);
  await turn();
  const back = a.take<Extract<ToPage, { t: 'results' }>>('results').flatMap((m) => m.results);
  assert.deepEqual(back.map((r) => [r.id, r.ok && unpack(r.value)]), [[900, 42]]);
  assert.equal(g.results().length, 0, 'the client hears nothing of a subtask');
  assert.equal(g.hub.stats().jobs[0].done, 0, "a subtask is not one of the client's tasks in its job");
  g.hub.closeAll(1001, 'test over');
});
