// The coordinator's record of task lanes (coordinator/task-lanes.ts): who may
// open one, which may take a task, and when a page must hear of a lane task.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { WebSocket } from 'ws';
import { LANE_NOTICE_MS, TaskLanes } from '../../coordinator/task-lanes.ts';
import type { PageId, ScopeId, TaskId } from '../../coordinator/ids.ts';

const page = 'p1' as PageId;
const other = 'p2' as PageId;
const a = 'scope-a' as ScopeId;
const b = 'scope-b' as ScopeId;
// The registry only holds sockets for its caller: nothing is sent on these.
const socket = () => ({}) as WebSocket;
const atMost = (n: number) => () => n;
const spec = (id: number) => ({ id, bundle: 'bundle-1', fn: 'f', args: new Uint8Array([1, 2]), scope: a });

test('one key per page and client; a lane opens only with a key, under a fresh nonce, up to its limit per page and client', () => {
  const lanes = new TaskLanes();
  const key = lanes.grant(page, a)!;
  assert.equal(typeof key, 'string');
  assert.equal(lanes.grant(page, a), undefined, 'the page has it already');
  assert.notEqual(lanes.grant(other, a), key, 'another page gets its own');
  assert.equal(lanes.open(socket(), 'made-up', 'n', atMost(4)), 'unknown lane key');
  const lane = lanes.open(socket(), key, 'n1', atMost(2));
  assert.ok(typeof lane !== 'string');
  assert.deepEqual([lane.page, lane.scope], [page, a], 'it serves the page and client the key was granted for');
  assert.equal(lanes.open(socket(), key, 'n1', atMost(2)), 'a lane with this nonce is open already');
  assert.ok(typeof lanes.open(socket(), key, 'n2', atMost(2)) !== 'string');
  assert.equal(lanes.open(socket(), key, 'n3', atMost(2)), 'this page has 2 task lanes open for this client already');
  assert.ok(typeof lanes.open(socket(), lanes.grant(page, b)!, 'n4', atMost(2)) !== 'string', "one client's lanes do not use up another's");
  assert.deepEqual(lanes.stats(), { open: 3, tasks: 0 });
});

test('a task goes to an idle lane of its own client that holds its bundle and every constant', () => {
  const lanes = new TaskLanes();
  const lane = lanes.open(socket(), lanes.grant(page, a)!, 'n1', atMost(4));
  assert.ok(typeof lane !== 'string');
  assert.equal(lanes.idle(page, a, 'bundle-1', 0), undefined, 'not ready: it holds no bundle yet');
  lane.bundles = new Set(['bundle-1']);
  lane.shared = 1;
  assert.equal(lanes.idle(page, a, 'bundle-1', 1), lane);
  assert.equal(lanes.idle(page, a, 'bundle-1', 2), undefined, 'a constant it lacks');
  assert.equal(lanes.idle(page, a, 'bundle-2', 1), undefined, 'a bundle it lacks');
  assert.equal(lanes.idle(page, b, 'bundle-1', 1), undefined, "another client's task");
  assert.equal(lanes.idle(other, a, 'bundle-1', 1), undefined, "another page's task");
  lanes.sent(lane, spec(7), () => undefined);
  assert.equal(lanes.idle(page, a, 'bundle-1', 1), undefined, 'busy until it answers');
  assert.equal(lanes.answered(lane, 8 as TaskId), false, 'a task it was not sent');
  assert.equal(lanes.answered(lane, 7 as TaskId), true);
  assert.equal(lanes.answered(lane, 7 as TaskId), false, 'answered already');
  assert.equal(lanes.idle(page, a, 'bundle-1', 1), lane);
  assert.deepEqual(lanes.stats(), { open: 1, tasks: 1 });
});

test("a lane task's page hears of it once: when it runs past LANE_NOTICE_MS, or sooner when asked; never once answered", () => {
  // A clock of our own: the timers armed, and which are still armed.
  const armed = new Map<number, { fire: () => void; ms: number }>();
  let next = 0;
  const lanes = new TaskLanes((fire, ms) => {
    const n = next++;
    armed.set(n, { fire: () => armed.delete(n) && fire(), ms });
    return () => armed.delete(n);
  });
  const lane = lanes.open(socket(), lanes.grant(page, a)!, 'n1', atMost(4));
  assert.ok(typeof lane !== 'string');
  let fired = 0;
  lanes.sent(lane, spec(1), () => fired++);
  assert.deepEqual([...armed.values()].map((t) => t.ms), [LANE_NOTICE_MS]);
  armed.get(0)!.fire();
  assert.equal(fired, 1, 'the notice is due once the task has run LANE_NOTICE_MS');

  lanes.sent(lane, spec(2), () => fired++);
  assert.deepEqual(lanes.takeNotice(2 as TaskId), { lane, spec: { ...spec(2), args: new Uint8Array(0) } }, 'asked for at once (a cancel, or a spawn), without its arguments');
  assert.equal(armed.has(1), false, 'its timer is disarmed');
  assert.equal(lanes.takeNotice(2 as TaskId), undefined, 'once');
  lanes.sent(lane, spec(3), () => fired++);
  assert.equal(lanes.answered(lane, 3 as TaskId), true);
  assert.equal(armed.has(2), false, 'answered: its timer is disarmed');
  assert.equal(lanes.takeNotice(3 as TaskId), undefined, 'answered: the page needs no word of it');
  lanes.sent(lane, spec(4), () => fired++);
  lanes.closed(lane);
  assert.equal(armed.size, 0, "a closed lane's timers are disarmed");
  assert.equal(fired, 1);
});

test("a page's or a client's leaving ends its keys and hands back its lanes to close", () => {
  const lanes = new TaskLanes();
  const keyA = lanes.grant(page, a)!;
  const keyB = lanes.grant(page, b)!;
  const laneA = lanes.open(socket(), keyA, 'n1', atMost(4));
  const laneB = lanes.open(socket(), keyB, 'n2', atMost(4));
  const elsewhere = lanes.open(socket(), lanes.grant(other, a)!, 'n3', atMost(4));
  assert.deepEqual(lanes.unshare(a), [laneA, elsewhere]);
  assert.equal(lanes.open(socket(), keyA, 'n4', atMost(4)), 'unknown lane key');
  assert.ok(typeof lanes.open(socket(), keyB, 'n5', atMost(4)) !== 'string', "the other client's key still opens");
  assert.equal(lanes.pageGone(page).includes(laneB as never), true);
  assert.equal(lanes.open(socket(), keyB, 'n6', atMost(4)), 'unknown lane key');
});
