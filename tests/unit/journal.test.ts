// The journal on a real SQLite store in a temp folder: one batch per turn,
// a task that starts and ends within a turn never written, results held until
// acknowledged (or due), and a store that fails reported once, with commit()
// telling the hub to send nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as turn } from 'node:timers/promises';
import { Journal, hashSecret } from '../../coordinator/journal.ts';
import { openSqliteStore, type SqliteStore } from '../../coordinator/store/sqlite-store.ts';
import type { TaskSpec } from '../../protocol/messages.ts';

async function withStore(t: { after: (fn: () => Promise<void>) => void }): Promise<SqliteStore> {
  const dir = await mkdtemp(join(tmpdir(), 'ladle-journal-'));
  const store = await openSqliteStore(dir);
  t.after(async () => {
    store.close();
    await rm(dir, { recursive: true, force: true });
  });
  return store;
}

const spec = (id: number): TaskSpec => ({ id, bundle: 'b', fn: 'f', args: new Uint8Array([id]) });
const session = { id: 'c1', scope: 's1', secretHash: hashSecret('secret'), tokenName: 'default', graceMs: 1000, received: 1 };

test('notes of one turn are written together at its end; a task added and ended in the same turn never is', async (t) => {
  const store = await withStore(t);
  const writes: number[] = [];
  const write = store.write.bind(store);
  store.write = (batch) => {
    writes.push(batch.tasksAdded.length + batch.tasksEnded.length);
    write(batch);
  };
  let now = 0;
  const journal = new Journal(store, () => ({ completed: 1, failed: 0 }), () => assert.fail('no failure expected'), 500, () => now);
  journal.session(session);
  journal.taskAdded('c1', spec(1));
  journal.taskAdded('c1', spec(2));
  journal.taskEnded('c1', 1);
  journal.result('c1', { id: 1, ok: true, value: new Uint8Array([9]) });
  assert.equal(store.load().sessions.length, 0, 'nothing is written before the turn ends');
  await turn();
  assert.deepEqual(writes, [1], 'one write: task 2 added; task 1 neither added nor deleted');
  const loaded = store.load();
  assert.deepEqual(loaded.tasks.map((x) => x.taskId), [2]);
  assert.deepEqual(loaded.results, [], 'the result is held for its acknowledgement');
  assert.deepEqual(loaded.counters, { completed: 1, failed: 0 });
  assert.equal(loaded.sessions[0].secretHash, hashSecret('secret'));

  // Task 2 ends with a result; acknowledged in time, its row goes and the result is never written.
  journal.taskEnded('c1', 2);
  journal.result('c1', { id: 2, ok: true, value: new Uint8Array([5]) });
  assert.equal(journal.commit(), true);
  assert.deepEqual(store.load().tasks.map((x) => x.taskId), [2], 'its row stays while the result is unacknowledged');
  journal.acked('c1', [2]);
  journal.commit();
  assert.deepEqual([store.load().tasks.length, store.load().results.length], [0, 0]);

  // Result 1 was never acknowledged: once due, it is written.
  now = 500;
  journal.commit();
  assert.deepEqual(store.load().results.map((x) => x.taskId), [1]);
  journal.acked('c1', [1]);
  journal.commit();
  assert.deepEqual(store.load().results, []);
});

test('close writes the results still held, with the ends of their tasks', async (t) => {
  const store = await withStore(t);
  const journal = new Journal(store, () => ({ completed: 0, failed: 0 }), () => assert.fail('no failure expected'));
  journal.session(session);
  journal.taskAdded('c1', spec(3));
  journal.commit();
  journal.taskEnded('c1', 3);
  journal.result('c1', { id: 3, ok: false, kind: 'invalid', error: { name: 'E', message: 'm' } });
  journal.close();
  const reopened = await openSqliteStore(store.file.replace(/\/ladle\.db$/, ''));
  t.after(() => reopened.close());
  const after = reopened.load();
  assert.deepEqual(after.tasks, []);
  assert.deepEqual(after.results.map((r) => [r.taskId, r.ok, r.error]), [[3, false, '{"kind":"invalid","error":{"name":"E","message":"m"}}']]);
});

test('a store that cannot write is reported once, and commit() says to send nothing', async (t) => {
  const store = await withStore(t);
  const failures: Error[] = [];
  const journal = new Journal(store, () => ({ completed: 0, failed: 0 }), (e) => failures.push(e));
  store.write = () => {
    throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
  };
  journal.taskAdded('c1', spec(1));
  assert.equal(journal.commit(), false);
  journal.taskAdded('c1', spec(2));
  assert.equal(journal.commit(), false);
  await turn();
  assert.deepEqual(failures.map((e) => (e as Error & { code: string }).code), ['SQLITE_FULL']);
});
