// The SQLite store on real files in temp folders: what one run writes the
// next one loads, and every bad state is refused with words that say what to do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { DB_FILE, SCHEMA_VERSION, openSqliteStore } from '../../coordinator/store/sqlite-store.ts';
import { emptyBatch } from '../../coordinator/store/store.ts';

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ladle-store-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const session = { clientId: 'c1', scope: 's1', secretHash: 'ab'.repeat(32), tokenName: 'default', graceMs: 60_000, received: 3 };

test('a new store loads empty; what a batch writes the next open loads; ended and acknowledged rows are gone', async (t) => {
  const dir = await tempDir(t);
  const first = await openSqliteStore(dir);
  assert.deepEqual(first.load(), { sessions: [], tasks: [], results: [], shared: [], jobs: [], counters: { completed: 0, failed: 0 }, trust: [] });
  first.write({
    ...emptyBatch(),
    sessions: [session],
    tasksAdded: [
      { clientId: 'c1', taskId: 1, bundle: 'b', fn: 'square', args: new Uint8Array([1, 2]) },
      { clientId: 'c1', taskId: 2, bundle: 'b', fn: 'square', args: new Uint8Array([3]), timeout: 500, attempts: 2, chunk: true },
      { clientId: 'c1', taskId: 3, bundle: 'b', fn: 'square', args: new Uint8Array([4]) },
    ],
    results: [{ clientId: 'c1', taskId: 9, ok: false, error: '{"kind":"invalid"}' }],
    shared: [{ clientId: 'c1', name: 'factor', value: new Uint8Array([7]) }],
    jobs: [{ key: 'c1\n0', record: '{"id":1}' }],
    counters: { completed: 5, failed: 1 },
  });
  first.write({
    ...emptyBatch(),
    sessions: [{ ...session, received: 4 }],
    tasksEnded: [{ clientId: 'c1', taskId: 1 }],
    results: [{ clientId: 'c1', taskId: 1, ok: true, value: new Uint8Array([42]) }],
    resultsAcked: [{ clientId: 'c1', taskId: 9 }],
  });
  first.close();

  const second = await openSqliteStore(dir);
  const loaded = second.load();
  assert.deepEqual(loaded.sessions, [{ ...session, received: 4 }]);
  assert.deepEqual(loaded.tasks, [
    { clientId: 'c1', taskId: 2, bundle: 'b', fn: 'square', args: new Uint8Array([3]), timeout: 500, attempts: 2, chunk: true },
    { clientId: 'c1', taskId: 3, bundle: 'b', fn: 'square', args: new Uint8Array([4]) },
  ]);
  assert.deepEqual(loaded.results, [{ clientId: 'c1', taskId: 1, ok: true, value: new Uint8Array([42]) }]);
  assert.deepEqual(loaded.shared, [{ clientId: 'c1', name: 'factor', value: new Uint8Array([7]) }]);
  assert.deepEqual(loaded.jobs, [{ key: 'c1\n0', record: '{"id":1}' }]);
  assert.deepEqual(loaded.counters, { completed: 5, failed: 1 });

  // A session that ends takes its tasks, results and constants with it; its job record stays.
  second.write({ ...emptyBatch(), sessionsEnded: ['c1'] });
  const after = second.load();
  assert.deepEqual([after.sessions, after.tasks, after.results, after.shared].map((rows) => rows.length), [0, 0, 0, 0]);
  assert.equal(after.jobs.length, 1);
  second.close();
});

const liar = { identity: '0123456789abcdef', checked: 3, agreed: 2, streak: 0, quarantined: true };

test('trust records: the latest of each identity is what the next open loads', async (t) => {
  const dir = await tempDir(t);
  const first = await openSqliteStore(dir);
  const honest = { identity: 'fedcba9876543210', checked: 6, agreed: 6, streak: 6, quarantined: false };
  first.write({ ...emptyBatch(), trust: [{ ...liar, checked: 2, agreed: 2, streak: 2, quarantined: false }, honest] });
  first.write({ ...emptyBatch(), trust: [liar] });
  first.close();
  const second = await openSqliteStore(dir);
  t.after(() => second.close());
  assert.deepEqual(
    second.load().trust.sort((a, b) => a.identity.localeCompare(b.identity)),
    [liar, honest],
  );
});

test('a file of schema 1 (before trust records) opens as it was, gains the trust table and the shared req column, and is marked schema 2', async (t) => {
  const dir = await tempDir(t);
  const first = await openSqliteStore(dir);
  first.write({ ...emptyBatch(), sessions: [session] });
  first.close();
  // What the previous version left: no trust table, no req column, user_version 1.
  const old = new Database(join(dir, DB_FILE));
  old.exec('DROP TABLE trust');
  old.exec('ALTER TABLE shared DROP COLUMN req');
  old.pragma('user_version = 1');
  old.close();
  const second = await openSqliteStore(dir);
  assert.deepEqual(second.load().sessions, [session]);
  assert.deepEqual(second.load().trust, []);
  second.write({ ...emptyBatch(), trust: [liar], shared: [{ clientId: 'c1', name: 'factor', value: new Uint8Array([7]), req: 4 }] });
  assert.deepEqual(second.load().shared, [{ clientId: 'c1', name: 'factor', value: new Uint8Array([7]), req: 4 }]);
  second.close();
  const db = new Database(join(dir, DB_FILE), { readonly: true });
  t.after(() => db.close());
  assert.equal(db.pragma('user_version', { simple: true }), 2);
  assert.equal((db.prepare('SELECT count(*) AS n FROM trust').get() as { n: number }).n, 1);
});

test('the file is in WAL mode and carries the schema version', async (t) => {
  const dir = await tempDir(t);
  (await openSqliteStore(dir)).close();
  const db = new Database(join(dir, DB_FILE), { readonly: true });
  t.after(() => db.close());
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
});

test('a file that is not a database is refused, named, and left as it was', async (t) => {
  const dir = await tempDir(t);
  const junk = 'this is not a database, it is a shopping list\n'.repeat(100);
  await writeFile(join(dir, DB_FILE), junk);
  await assert.rejects(openSqliteStore(dir), { name: 'StoreError', message: new RegExp(`${join(dir, DB_FILE)} is not a Ladle database, or it is damaged .*move it away`) });
  assert.equal(await readFile(join(dir, DB_FILE), 'utf8'), junk);
});

test("another program's SQLite database is refused", async (t) => {
  const dir = await tempDir(t);
  const db = new Database(join(dir, DB_FILE));
  db.exec('CREATE TABLE recipes (name TEXT)');
  db.close();
  await assert.rejects(openSqliteStore(dir), { name: 'StoreError', message: /is an SQLite database, but not a Ladle one: give --data a folder of its own/ });
});

test('a schema newer than this version is refused, not overwritten', async (t) => {
  const dir = await tempDir(t);
  (await openSqliteStore(dir)).close();
  const db = new Database(join(dir, DB_FILE));
  db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
  db.close();
  await assert.rejects(openSqliteStore(dir), { name: 'StoreError', message: new RegExp(`written by a newer Ladle \\(schema ${SCHEMA_VERSION + 1}; this one knows up to ${SCHEMA_VERSION}\\)`) });
  const again = new Database(join(dir, DB_FILE), { readonly: true });
  t.after(() => again.close());
  assert.equal(again.pragma('user_version', { simple: true }), SCHEMA_VERSION + 1);
});

test('a data folder that cannot be written is refused before anything opens', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'a-file'), '');
  // A folder below a plain file cannot exist (and unlike permissions, this holds for root too).
  await assert.rejects(openSqliteStore(join(dir, 'a-file', 'data')), { name: 'StoreError', message: /the data folder .*a-file\/data is not writable \(ENOTDIR: .*give --data a folder this user may write/ });
});
