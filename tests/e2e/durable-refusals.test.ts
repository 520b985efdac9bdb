// `ladle coordinator --data DIR` refuses to start, with words that say what
// to do, on a folder or file it cannot use; nothing there is changed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runLadle } from '../helpers/cli.ts';
import { SCHEMA_VERSION, openSqliteStore } from '../../coordinator/store/sqlite-store.ts';

async function refused(dir: string, t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  t.after(() => rm(dir, { recursive: true, force: true }));
  const c = runLadle(['coordinator', '--host', '127.0.0.1', '--port', '0', '--token', 'x', '--data', dir]);
  const code = await c.exited;
  assert.notEqual(code, 0);
  assert.doesNotMatch(c.output(), /coordinator is up/);
  return c.output();
}

test('a corrupt database file: refused, named, left as it was', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ladle-corrupt-'));
  const junk = Buffer.alloc(8192, 0x5a);
  await writeFile(join(dir, 'ladle.db'), junk);
  const out = await refused(dir, t);
  assert.match(out, new RegExp(`ladle: cannot start: ${join(dir, 'ladle.db')} is not a Ladle database, or it is damaged .*move it away .* or give --data another folder`));
  assert.deepEqual(await readFile(join(dir, 'ladle.db')), junk);
});

test('a database of a newer schema: refused, not overwritten', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ladle-newer-'));
  (await openSqliteStore(dir)).close();
  const db = new Database(join(dir, 'ladle.db'));
  db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
  db.close();
  assert.match(await refused(dir, t), /was written by a newer Ladle \(schema \d+; this one knows up to \d+\): upgrade ladle-grid, or give --data another folder/);
});

test('a data folder that cannot be written: refused', async (t) => {
  const parent = await mkdtemp(join(tmpdir(), 'ladle-unwritable-'));
  await writeFile(join(parent, 'file'), '');
  assert.match(await refused(join(parent, 'file', 'data'), t), /the data folder .*file\/data is not writable \(ENOTDIR.*give --data a folder this user may write/);
  await rm(parent, { recursive: true, force: true });
});

test('--data and --no-data together: refused', async () => {
  const c = runLadle(['coordinator', '--port', '0', '--data', 'somewhere', '--no-data']);
  assert.equal(await c.exited, 2);
  assert.match(c.output(), /--data DIR keeps the grid's state in DIR and --no-data keeps it in memory: give one of them/);
});
