import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JobBook, MAX_JOBS_PER_CLIENT } from '../../coordinator/jobs.ts';
import { ProtocolError, decodeFrame, encodeFrame, parseClientMessage } from '../../protocol/messages.ts';
import type { ClientId, TaskId } from '../../coordinator/ids.ts';

const alice = 'alice' as ClientId;
const bob = 'bob' as ClientId;

test('a named job counts its tasks and shows progress, rate and ETA on an injected clock', () => {
  let now = 0;
  const book = new JobBook(() => now);
  book.declare(alice, 'default', { job: 1, name: 'lab 3: pi', priority: 2, adds: 100 });
  const job = book.get(alice, 1, 'default')!;
  assert.deepEqual(book.key(job), { client: alice, job: '1', priority: 2 });
  for (let i = 1; i <= 100; i++) book.submitted(job, i as TaskId);
  book.list(); // first sample at t=0
  now = 5000;
  for (let i = 1; i <= 50; i++) book.settled(i as TaskId, 'completed');
  const [row] = book.list();
  assert.equal(row.name, 'lab 3: pi');
  assert.equal(row.priority, 2);
  assert.equal(row.expected, 100);
  assert.equal(row.done, 50);
  assert.equal(row.rate, 10, '50 tasks in 5 s');
  assert.equal(row.etaSeconds, 5, '50 left at 10/s');
  assert.equal(row.seconds, 5);
});

test("job 0 is the session's; other numbers exist only once declared", () => {
  const book = new JobBook(() => 0);
  assert.ok(book.get(alice, 0, 'default'));
  assert.equal(book.get(alice, 7, 'default'), undefined);
  book.submitted(book.get(alice, 0, 'default')!, undefined);
  assert.deepEqual(book.list().map((j) => [j.name, j.submitted, j.failed]), [['', 1, 1]], 'a refused task counts as failed');
});

test('ended jobs: the last 20 stay on show', () => {
  const book = new JobBook(() => 0);
  for (let c = 0; c < 25; c++) {
    const id = `c${c}` as ClientId;
    book.declare(id, 't', { job: 0, name: `student ${c}` });
    book.clientGone(id);
  }
  const rows = book.list();
  assert.equal(rows.length, 20);
  assert.equal(rows[0].name, 'student 5');
  assert.ok(rows.every((r) => !r.active && r.etaSeconds === undefined));
});

test("a client's jobs are capped; finished ones make room, unfinished ones refuse a new job", () => {
  const book = new JobBook(() => 0);
  for (let j = 1; j <= MAX_JOBS_PER_CLIENT; j++) book.declare(alice, 't', { job: j, name: `run ${j}` });
  book.submitted(book.get(alice, 1, 't')!, 1 as TaskId);
  book.declare(alice, 't', { job: 5000, name: 'one more' }); // run 2, the oldest idle one, makes room
  assert.equal(book.get(alice, 2, 't'), undefined);
  assert.ok(book.get(alice, 1, 't'), 'a job with an unfinished task stays');
  let task = 10;
  for (const j of [...Array.from({ length: MAX_JOBS_PER_CLIENT - 2 }, (_, i) => i + 3), 5000]) book.submitted(book.get(alice, j, 't')!, task++ as TaskId);
  assert.throws(() => book.declare(alice, 't', { job: 6000, name: 'too many' }), (e: Error) => e instanceof ProtocolError && /at most 1000 jobs/.test(e.message));
  assert.doesNotThrow(() => book.declare(bob, 't', { job: 2, name: 'bob is not capped by alice' }));
});

test('the job message is validated: name, priority, adds', () => {
  const parse = (msg: object) => decodeFrame(encodeFrame(msg as never), parseClientMessage);
  assert.deepEqual(parse({ t: 'job', seq: 1, job: 1, name: 'lab 3: pi', priority: 5, adds: 10 }), { t: 'job', seq: 1, job: 1, name: 'lab 3: pi', priority: 5, adds: 10 });
  assert.ok(parse({ t: 'submit', seq: 2, tasks: [{ id: 1, bundle: 'a'.repeat(64), fn: 'f', args: new Uint8Array([0x90]), job: 3 }] }));
  for (const [bad, why] of [
    [{ job: -1 }, /job\.job/],
    [{ job: 1, name: 'x'.repeat(101) }, /job\.name/],
    [{ job: 1, name: '' }, /name is text/],
    [{ job: 1, name: '   ' }, /name is text/],
    [{ job: 1, name: 'evil\u202etxt' }, /control characters/],
    [{ job: 1, name: 'a\nb' }, /control characters/],
    [{ job: 1, name: 7 }, /job\.name/],
    [{ job: 1, priority: 0 }, /priority is a whole number from 1 to 100/],
    [{ job: 1, priority: 101 }, /priority/],
    [{ job: 1, priority: 1.5 }, /priority/],
    [{ job: 1, adds: -3 }, /job\.adds/],
  ] as const) {
    assert.throws(() => parse({ t: 'job', seq: 1, ...bad }), (e: Error) => e instanceof ProtocolError && why.test(e.message), JSON.stringify(bad));
  }
  assert.throws(() => parse({ t: 'submit', seq: 2, tasks: [{ id: 1, bundle: 'a'.repeat(64), fn: 'f', args: new Uint8Array([0x90]), job: 'x' }] }), /task\.job/);
});

test('a durable coordinator records each changed job and restores them; jobs of clients that did not come back have ended', () => {
  let now = 0;
  const records = new Map<string, string>();
  const recorder = { job: (key: string, record: () => string) => records.set(key, record()), jobEnded: (key: string) => records.delete(key) };
  const book = new JobBook(() => now, recorder);
  book.declare(alice, 'default', { job: 1, name: 'lab 3: pi', adds: 10 });
  book.get(bob, 0, 'default');
  const job = book.get(alice, 1, 'default')!;
  for (let i = 1; i <= 4; i++) book.submitted(job, i as TaskId);
  book.settled(1 as TaskId, 'completed');
  assert.equal((JSON.parse(records.get(`${alice}\n1`)!) as { done: number }).done, 1, 'the record follows the job');

  now = 1000;
  const restored = new JobBook(() => now);
  restored.restore([...records].map(([key, record]) => ({ key, record })), (client) => client === alice);
  const again = restored.get(alice, 1, 'default')!;
  restored.adopt(again, 2 as TaskId);
  restored.settled(2 as TaskId, 'completed');
  const rows = restored.list();
  const pi = rows.find((r) => r.name === 'lab 3: pi')!;
  assert.equal(pi.done, 2, 'a restored task counts in its job');
  assert.equal(pi.active, true);
  assert.equal(restored.get(bob, 0, 'default')!.active, false, "bob's session did not come back");
  restored.declare(alice, 'default', { job: 2, name: 'next' });
  assert.ok(restored.list().find((r) => r.name === 'next')!.id > pi.id, 'new jobs get fresh ids');
});

test('a job counts calls: a chunk counts for the calls it carries, done or refused', () => {
  const book = new JobBook(() => 0);
  book.declare(alice, 'default', { job: 1, name: 'chunked', adds: 25 });
  const job = book.get(alice, 1, 'default')!;
  book.submitted(job, 1 as TaskId, 10);
  book.submitted(job, 2 as TaskId, 10);
  book.submitted(job, undefined, 5);
  book.settled(1 as TaskId, 'completed');
  const row = book.list().find((r) => r.name === 'chunked')!;
  assert.deepEqual([row.expected, row.submitted, row.done, row.failed], [25, 25, 10, 5]);
});

test('after a restart, a task counted before the crash and run again is not counted twice', () => {
  const records = new Map<string, string>();
  const book = new JobBook(() => 0, { job: (key, record) => records.set(key, record()), jobEnded: (key) => records.delete(key) });
  const job = book.get(alice, 0, 'default')!;
  book.submitted(job, 1 as TaskId);
  book.submitted(job, 2 as TaskId);
  book.settled(1 as TaskId, 'completed');
  book.settled(2 as TaskId, 'completed');
  // The crash: task 2's end is in the job's record, but its row was still in the store.
  const restored = new JobBook(() => 0);
  restored.restore([...records].map(([key, record]) => ({ key, record })), () => true);
  const again = restored.get(alice, 0, 'default')!;
  restored.adopt(again, 20 as TaskId);
  restored.settled(20 as TaskId, 'completed');
  const [row] = restored.list();
  assert.deepEqual([row.submitted, row.done], [2, 2]);
});

test("a chunk's call count from a client is a whole number from 1 to a million (it only moves that client's own job progress)", () => {
  const parse = (msg: object) => decodeFrame(encodeFrame(msg as never), parseClientMessage);
  const spec = (calls: unknown) => ({ t: 'submit', seq: 2, tasks: [{ id: 1, bundle: 'a'.repeat(64), fn: 'f', args: new Uint8Array([0x90]), chunk: true, calls }] });
  assert.ok(parse(spec(10)));
  for (const bad of [0, -1, 1.5, 1_000_001, '3']) assert.throws(() => parse(spec(bad)), /task\.calls/, String(bad));
});
