// A page's side of peer offloading, driven message by message: what it
// lends, to whom, and what it does when a link closes. The browser tests
// (tests/e2e/peer-offload.test.ts) run the same code over real WebRTC.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PeerOffload, addPeerReport, resultMessages, type LendingSubtasks, type OffloadHost, type PeerLink, type PeerReport } from '../../browser-worker/peer-offload.ts';
import { SharedConstants } from '../../browser-worker/shared-constants.ts';
import type { Timers } from '../../browser-worker/clock.ts';
import { FRAME_OVERHEAD_BYTES } from '../../protocol/limits.ts';
import type { PeerMessage, TaskOutcome, TaskSpec } from '../../protocol/messages.ts';
import type { RunId, SubtaskId, SubtaskSpec } from '../../browser-worker/task-origin.ts';

class FakeLink implements PeerLink {
  readonly outgoing = false;
  readonly open = true;
  readonly sent: PeerMessage[] = [];
  constructor(readonly peer: string) {}
  send(msg: PeerMessage): void {
    this.sent.push(msg);
  }
  close(): void {}
}

const spec = (id: number, scope = 'client-1'): SubtaskSpec => ({ id: id as SubtaskId, bundle: 'b'.repeat(64), fn: 'leaf', args: new Uint8Array([id]), scope });

/** The runtime's side, recorded: ready subtasks 1..n, timers fired by hand;
 * `messageBytes`, the largest message a peer takes. */
function harness(ready: number, messageBytes?: number) {
  const timers = new Map<number, () => void>();
  let nextTimer = 1;
  const calls = { returned: [] as [string, number][], reclaimed: [] as [string, number[]][], ran: [] as TaskSpec[], dropped: [] as number[], changed: 0 };
  const queue = Array.from({ length: ready }, (_, i) => spec(i + 1));
  const clock: Timers = {
    setTimeout: (fn) => {
      timers.set(nextTimer, fn);
      return nextTimer++;
    },
    clearTimeout: (id) => void timers.delete(id),
  };
  const subtasks: LendingSubtasks = {
    // Subtask n descends from grid task 100 + n.
    lend: (_link, max, _has, _now, fits = () => true) => {
      const given: SubtaskSpec[] = [];
      for (const s of [...queue]) if (given.length < max && fits(s)) given.push(queue.splice(queue.indexOf(s), 1)[0]);
      return given.map((s) => ({ spec: s, under: { task: 100 + s.id } }));
    },
    returned: (link, id) => void calls.returned.push([link.peer, id]),
    reclaim: (link, ids) => void calls.reclaimed.push([link.peer, [...ids]]),
  };
  const constants = new SharedConstants();
  constants.add('client-1', { factor: new Uint8Array([7]) });
  const host: OffloadHost = {
    run: (task) => {
      calls.ran.push(task);
      return -calls.ran.length as RunId;
    },
    drop: (runIds) => void calls.dropped.push(...runIds),
    changed: () => void calls.changed++,
  };
  const fire = () => {
    const all = [...timers.values()];
    timers.clear();
    for (const fn of all) fn();
  };
  const offload = new PeerOffload(host, subtasks, constants, clock, messageBytes);
  const takeReport = (): PeerReport => offload.takeReport() ?? {};
  return { offload, calls, timers, fire, takeReport, queue, constants };
}

/** An announced steal of `n` from a new link to `peer`, answered; the report is taken. */
function lendTo(h: ReturnType<typeof harness>, peer: string, n: number): FakeLink {
  const link = new FakeLink(peer);
  h.offload.grant(peer, n);
  h.offload.onMessage(link, { t: 'steal', max: n });
  h.takeReport();
  return link;
}

const tasksSent = (link: FakeLink) => link.sent.filter((m): m is Extract<PeerMessage, { t: 'tasks' }> => m.t === 'tasks');

test('a steal the coordinator announced gets at most what it announced, and the constants once per link', () => {
  const h = harness(6);
  const thief = new FakeLink('thief');
  h.offload.grant('thief', 2);
  h.offload.onMessage(thief, { t: 'steal', max: 4 });
  let [answer] = tasksSent(thief);
  assert.deepEqual(answer.tasks.map((t) => t.id), [1, 2], 'the announced 2, not the asked 4');
  assert.deepEqual(answer.shared, { 'client-1': { factor: new Uint8Array([7]) } });
  assert.deepEqual(h.takeReport().offload, [{ to: 'thief', ids: [1, 2], under: [{ task: 101 }, { task: 102 }] }], 'with the task each descends from');

  h.offload.grant('thief', 3);
  h.offload.onMessage(thief, { t: 'steal', max: 3 });
  answer = tasksSent(thief)[1];
  assert.deepEqual(answer.tasks.map((t) => t.id), [3, 4, 5]);
  assert.deepEqual(answer.shared, {}, 'constants already sent on this link');
  assert.equal(h.offload.status.given, 5);

  // The word is used up: a third steal waits for a new one.
  h.offload.onMessage(thief, { t: 'steal', max: 1 });
  assert.equal(tasksSent(thief).length, 2);
  assert.equal(h.timers.size, 1);
});

test('a steal that comes before the announcement is answered when it comes; one never announced is refused', () => {
  const h = harness(4);
  const early = new FakeLink('early');
  h.offload.onMessage(early, { t: 'steal', max: 2 });
  assert.equal(early.sent.length, 0, 'it waits for the coordinator');
  h.offload.grant('early', 1);
  assert.deepEqual(tasksSent(early)[0].tasks.map((t) => t.id), [1]);
  assert.equal(h.timers.size, 0, 'its refusal timer is gone');

  const rogue = new FakeLink('rogue');
  h.offload.onMessage(rogue, { t: 'steal', max: 3 });
  h.fire();
  assert.deepEqual(rogue.sent, [{ t: 'tasks', tasks: [] }]);
  assert.equal(h.offload.status.refused, 1);
  const report = h.takeReport();
  assert.equal(report.refused, 1);
  assert.deepEqual(report.offload, [{ to: 'early', ids: [1], under: [{ task: 101 }] }], 'nothing was lent to the rogue page');
  assert.equal(h.queue.length, 3);

  // An announcement for another page does not open the door to this one.
  h.offload.grant('someone-else', 3);
  h.offload.onMessage(rogue, { t: 'steal', max: 3 });
  h.fire();
  assert.deepEqual(rogue.sent.at(-1), { t: 'tasks', tasks: [] });
  assert.equal(h.queue.length, 3);
});

test('a lend is one message a peer accepts: subtasks go while their arguments and their constants fit; one too large alone is never lent', () => {
  // A budget of 1,000 bytes for subtasks (268 bytes each beside their
  // arguments) and constants (35 bytes for client-1's `factor`, the first time).
  const h = harness(0, FRAME_OVERHEAD_BYTES + 1000);
  const sized = (id: number, bytes: number): SubtaskSpec => ({ ...spec(id), args: new Uint8Array(bytes) });
  h.queue.push(sized(1, 300), sized(2, 300), sized(3, 50), sized(4, 2000));
  const thief = new FakeLink('thief');
  const stealAll = () => {
    h.offload.grant('thief', 4);
    h.offload.onMessage(thief, { t: 'steal', max: 4 });
    return tasksSent(thief).at(-1)?.tasks.map((t) => t.id);
  };
  assert.deepEqual(stealAll(), [1, 3], '603 + 318 bytes; subtask 2 would make it 1,171');
  assert.deepEqual(stealAll(), [2], 'the constants went with the first');
  assert.deepEqual(stealAll(), [], 'subtask 4 alone is over the budget: it stays here');
  assert.deepEqual(
    h.queue.map((s) => s.id),
    [4],
  );
});

test('results for a peer go in messages it accepts, in order; a result too large for any fails alone', () => {
  const budget = 1000;
  const ok = (id: number, bytes: number): TaskOutcome => ({ id, ok: true, value: new Uint8Array(bytes) });
  const messages = resultMessages([ok(1, 400), ok(2, 400), ok(3, 80), ok(4, 745), ok(5, 744)], FRAME_OVERHEAD_BYTES + budget);
  assert.deepEqual(
    messages.map((m) => m.map((r) => r.id)),
    [[1], [2, 3], [4], [5]],
  );
  const [tooLarge] = messages[2];
  assert.ok(!tooLarge.ok && tooLarge.kind === 'tooLarge' && /result is 745 bytes packed; a result may be at most 744/.test(tooLarge.error.message), JSON.stringify(tooLarge));
  assert.ok(messages[3][0].ok, '744 bytes and its fields fit');
});

test('tasks a peer sends unasked are not run', () => {
  const h = harness(0);
  h.offload.onMessage(new FakeLink('pusher'), { t: 'tasks', tasks: [spec(1)] });
  assert.deepEqual(h.calls.ran, []);
  assert.equal(h.offload.status.taken, 0);
});

test('results settle what was lent on that link; other ids are ignored', () => {
  const h = harness(3);
  const thief = lendTo(h, 'thief', 2);
  const ok = (id: number): TaskOutcome => ({ id, ok: true, value: new Uint8Array([id]) });
  h.offload.onMessage(thief, { t: 'results', results: [ok(2), ok(3), ok(99)] });
  assert.deepEqual(h.calls.returned, [['thief', 2]], 'subtask 3 was never lent, 99 never existed');
  assert.deepEqual(h.takeReport().returned, [2]);
  // From another link, the same id settles nothing.
  h.offload.onMessage(new FakeLink('other'), { t: 'results', results: [ok(1)] });
  assert.deepEqual(h.calls.returned, [['thief', 2]]);
});

test('a closed link gives back what it held, and a withdrawn subtask is cancelled on it', () => {
  const h = harness(4);
  const thief = lendTo(h, 'thief', 3);
  h.offload.withdraw(thief, 2 as SubtaskId);
  assert.deepEqual(thief.sent.at(-1), { t: 'cancel', ids: [2] });
  assert.deepEqual(h.takeReport().returned, [2]);
  h.offload.onClosed(thief);
  assert.deepEqual(h.calls.reclaimed, [['thief', [1, 3]]]);
  assert.deepEqual(h.takeReport().returned, [1, 3]);
  h.offload.onClosed(thief);
  assert.equal(h.calls.reclaimed.length, 1, 'once');
});

test('two links to one tab (both dialled at once) count as one other tab until both close', () => {
  const h = harness(4);
  const mine = lendTo(h, 'other', 1);
  const theirs = lendTo(h, 'other', 1);
  lendTo(h, 'third', 1);
  assert.equal(h.offload.status.links, 2, 'two tabs, three links');
  h.offload.onClosed(mine);
  assert.equal(h.offload.status.links, 2, 'still linked to "other"');
  h.offload.onClosed(theirs);
  assert.equal(h.offload.status.links, 1);
});

// The report: the runtime takes what happened with peers into each report it
// sends the coordinator.

test('one take hands over everything gathered since the last, in order; a second take has nothing', () => {
  const h = harness(4);
  const thief = new FakeLink('thief');
  h.offload.grant('thief', 2);
  h.offload.onMessage(thief, { t: 'steal', max: 2 });
  h.offload.onMessage(thief, { t: 'results', results: [{ id: 1, ok: true, value: new Uint8Array([1]) }] });
  const rogue = new FakeLink('rogue');
  h.offload.onMessage(rogue, { t: 'steal', max: 1 });
  h.fire();
  h.offload.steal('victim', 1); // not registered with the PeerServer: no link
  const victim = new FakeLink('victim');
  h.offload.onMessage(victim, { t: 'tasks', tasks: [spec(9)] }); // unasked: run nor reported
  h.offload.onClosed(thief);

  assert.deepEqual(h.offload.takeReport(), {
    offload: [{ to: 'thief', ids: [1, 2], under: [{ task: 101 }, { task: 102 }] }],
    returned: [1, 2],
    refused: 1,
    stole: [{ from: 'victim', got: 0, linked: false }],
  });
  assert.equal(h.offload.takeReport(), undefined, 'nothing new');
  assert.ok(h.calls.changed > 0, 'the runtime was told, to flush');
});

test('a report waits until taken, across messages; sending results to peers does not take it', () => {
  const h = harness(3);
  const thief = lendTo(h, 'thief', 1);
  h.offload.grant('thief', 1);
  h.offload.onMessage(thief, { t: 'steal', max: 1 });
  assert.deepEqual(h.offload.flush(), { links: 0, bytes: 0 }, 'no network, nothing counted');
  h.offload.withdraw(thief, 2 as SubtaskId);
  h.offload.grant('thief', 1);
  h.offload.onMessage(thief, { t: 'steal', max: 1 });
  const report = h.takeReport();
  assert.deepEqual(report.offload, [
    { to: 'thief', ids: [2], under: [{ task: 102 }] },
    { to: 'thief', ids: [3], under: [{ task: 103 }] },
  ]);
  assert.deepEqual(report.returned, [2]);
  assert.equal(h.offload.takeReport(), undefined);
});

test('leaving the coordinator drops the report not handed over; one gathered after it outlives the next welcome', () => {
  const h = harness(2);
  lendTo(h, 'thief', 1);
  h.offload.grant('thief', 1);
  h.offload.onMessage(new FakeLink('thief'), { t: 'steal', max: 1 });
  h.offload.close(); // the connection to the coordinator dropped: it requeues all of it
  assert.equal(h.offload.takeReport(), undefined);
  h.offload.steal('victim', 1); // a late word: answered with nothing
  h.offload.open('me-again', undefined, 'ws://127.0.0.1:1/ws'); // welcomed again
  assert.deepEqual(h.offload.takeReport(), { stole: [{ from: 'victim', got: 0, linked: false }] });
});

test('peer parts join a report after what it already says', () => {
  const report: PeerReport = { returned: [1], stole: [{ from: 'a', got: 1, linked: true }], refused: 2 };
  addPeerReport(report, undefined);
  addPeerReport(report, { offload: [{ to: 'b', ids: [4], under: [{ task: 9 }] }], returned: [2, 3], stole: [{ from: 'c', got: 0, linked: false }], refused: 1 });
  assert.deepEqual(report, {
    returned: [1, 2, 3],
    stole: [
      { from: 'a', got: 1, linked: true },
      { from: 'c', got: 0, linked: false },
    ],
    refused: 3,
    offload: [{ to: 'b', ids: [4], under: [{ task: 9 }] }],
  });
});

test('constants a peer pushes unasked are not kept', () => {
  const h = harness(0);
  h.offload.onMessage(new FakeLink('pusher'), { t: 'tasks', tasks: [spec(1, 'client-2')], shared: { 'client-2': { w: new Uint8Array([5]) } } });
  assert.equal(h.constants.get('client-2'), undefined);
  assert.equal(h.offload.takeReport(), undefined, 'and nothing to report');
});
