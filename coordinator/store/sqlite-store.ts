// The durable store on SQLite (better-sqlite3, an optional peer dependency:
// only a coordinator started with --data needs it). One file, ladle.db, in
// WAL mode with synchronous=NORMAL: a commit is one write to the log, no
// fsync, and survives the process being killed (a power cut may lose the
// last commits, never corrupt the file). The schema's version is
// PRAGMA user_version; PRAGMA application_id marks the file as Ladle's.
import { mkdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { StoreError, type Batch, type Snapshot, type Store, type StoredResult, type StoredShared, type StoredTask, type StoredTrust } from './store.ts';

export const DB_FILE = 'ladle.db';
/** Bump with every schema change, and teach open() to migrate from the one before. */
export const SCHEMA_VERSION = 2;
/** 'LADL': a file with another id is not ours, whatever its tables. */
const APPLICATION_ID = 0x4c41444c;

const SCHEMA = `
  CREATE TABLE sessions (client_id TEXT PRIMARY KEY, scope TEXT NOT NULL, secret_hash TEXT NOT NULL,
    token_name TEXT NOT NULL, grace_ms INTEGER NOT NULL, received INTEGER NOT NULL);
  CREATE TABLE tasks (client_id TEXT NOT NULL, task_id INTEGER NOT NULL, bundle TEXT NOT NULL, fn TEXT NOT NULL,
    args BLOB NOT NULL, options TEXT, PRIMARY KEY (client_id, task_id)) WITHOUT ROWID;
  CREATE TABLE results (client_id TEXT NOT NULL, task_id INTEGER NOT NULL, ok INTEGER NOT NULL, value BLOB, error TEXT,
    PRIMARY KEY (client_id, task_id)) WITHOUT ROWID;
  CREATE TABLE shared (client_id TEXT NOT NULL, name TEXT NOT NULL, value BLOB NOT NULL, req INTEGER, PRIMARY KEY (client_id, name));
  CREATE TABLE jobs (key TEXT PRIMARY KEY, record TEXT NOT NULL);
  CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
`;

/** Added by schema 2: page identities' records of checked results, and the
 * request that set each shared constant (the SCHEMA above has both). */
const TRUST_TABLE = `CREATE TABLE trust (identity TEXT PRIMARY KEY, checked INTEGER NOT NULL, agreed INTEGER NOT NULL,
  streak INTEGER NOT NULL, quarantined INTEGER NOT NULL) WITHOUT ROWID;`;

type Database = BetterSqlite3.Database;
type Statement = BetterSqlite3.Statement;

export const MISSING_DRIVER = 'a durable coordinator needs better-sqlite3: npm install better-sqlite3@12';

/** Loads the optional driver; its absence is a clear error, not a stack trace. */
async function loadDriver(): Promise<typeof BetterSqlite3> {
  try {
    return (await import('better-sqlite3')).default;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') throw new StoreError(`${MISSING_DRIVER} (or start without --data)`);
    throw new StoreError(`better-sqlite3 is installed but does not load (${(e as Error).message}); reinstall it: npm install better-sqlite3@12`);
  }
}

/** Opens (or creates) DIR/ladle.db; refuses, with a StoreError saying what
 * to do, a folder it cannot write, a file that is not a Ladle database, and
 * a schema newer than this version knows. */
export async function openSqliteStore(dir: string): Promise<SqliteStore> {
  const Driver = await loadDriver();
  const file = join(dir, DB_FILE);
  probeFolder(dir);
  let db: Database | undefined;
  try {
    db = new Driver(file);
    return new SqliteStore(db, file);
  } catch (e) {
    db?.close();
    if (e instanceof StoreError) throw e;
    const code = (e as { code?: string }).code ?? '';
    if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
      throw new StoreError(`${file} is not a Ladle database, or it is damaged (${(e as Error).message}): move it away (the coordinator then starts empty) or give --data another folder`);
    }
    if (code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_IOERR') || code === 'SQLITE_PERM') {
      throw new StoreError(`cannot open ${file} for writing (${code}: ${(e as Error).message}): check the folder's and the file's permissions, or give --data another folder`);
    }
    throw new StoreError(`cannot open ${file} (${code || (e as Error).name}: ${(e as Error).message})`);
  }
}

/** The data folder must exist (it is made) and take a new file. */
function probeFolder(dir: string): void {
  const probe = join(dir, `.ladle-write-probe-${process.pid}`);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(probe, '');
    unlinkSync(probe);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new StoreError(`the data folder ${dir} is not writable (${err.code ?? err.name}: ${err.message}): give --data a folder this user may write, or fix its permissions`);
  }
}

export class SqliteStore implements Store {
  private readonly put: Record<string, Statement>;
  /** One batch, one transaction. */
  private readonly writeBatch: (batch: Batch) => void;

  constructor(
    private readonly db: Database,
    readonly file: string,
  ) {
    // Reading the header is the first thing to fail on a file that is not SQLite.
    const appId = db.pragma('application_id', { simple: true }) as number;
    const version = db.pragma('user_version', { simple: true }) as number;
    if (appId !== APPLICATION_ID) {
      const tables = db.prepare("SELECT count(*) AS n FROM sqlite_master").get() as { n: number };
      if (tables.n > 0 || version !== 0) {
        throw new StoreError(`${file} is an SQLite database, but not a Ladle one: give --data a folder of its own (Ladle keeps ${DB_FILE} and bundles/ there)`);
      }
    } else if (version > SCHEMA_VERSION) {
      throw new StoreError(`${file} was written by a newer Ladle (schema ${version}; this one knows up to ${SCHEMA_VERSION}): upgrade ladle-grid, or give --data another folder; the file is left as it is`);
    }
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    // The log is cut back after each checkpoint: the files stay near the live data's size.
    db.pragma('journal_size_limit = 16777216');
    if (appId !== APPLICATION_ID) {
      db.transaction(() => {
        db.exec(SCHEMA);
        db.exec(TRUST_TABLE);
        db.pragma(`application_id = ${APPLICATION_ID}`);
        db.pragma(`user_version = ${SCHEMA_VERSION}`);
      })();
    } else if (version === 1) {
      // A file of the version before: what it holds stays; the trust table is new.
      db.transaction(() => {
        db.exec(TRUST_TABLE);
        db.exec('ALTER TABLE shared ADD COLUMN req INTEGER');
        db.pragma(`user_version = ${SCHEMA_VERSION}`);
      })();
    }
    this.put = {
      session: db.prepare(
        `INSERT INTO sessions VALUES (@clientId, @scope, @secretHash, @tokenName, @graceMs, @received)
         ON CONFLICT (client_id) DO UPDATE SET received = excluded.received, grace_ms = excluded.grace_ms`,
      ),
      sessionEnded: db.prepare('DELETE FROM sessions WHERE client_id = ?'),
      sessionTasks: db.prepare('DELETE FROM tasks WHERE client_id = ?'),
      sessionResults: db.prepare('DELETE FROM results WHERE client_id = ?'),
      sessionShared: db.prepare('DELETE FROM shared WHERE client_id = ?'),
      task: db.prepare('INSERT OR REPLACE INTO tasks VALUES (?, ?, ?, ?, ?, ?)'),
      taskEnded: db.prepare('DELETE FROM tasks WHERE client_id = ? AND task_id = ?'),
      result: db.prepare('INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?)'),
      resultAcked: db.prepare('DELETE FROM results WHERE client_id = ? AND task_id = ?'),
      shared: db.prepare('INSERT OR REPLACE INTO shared VALUES (?, ?, ?, ?)'),
      job: db.prepare('INSERT OR REPLACE INTO jobs VALUES (?, ?)'),
      jobEnded: db.prepare('DELETE FROM jobs WHERE key = ?'),
      counter: db.prepare('INSERT OR REPLACE INTO counters VALUES (?, ?)'),
      trust: db.prepare('INSERT OR REPLACE INTO trust VALUES (?, ?, ?, ?, ?)'),
    };
    this.writeBatch = db.transaction((batch: Batch) => this.writeAll(batch));
  }

  load(): Snapshot {
    const db = this.db;
    type SessionRow = { client_id: string; scope: string; secret_hash: string; token_name: string; grace_ms: number; received: number };
    const sessions = (db.prepare('SELECT * FROM sessions ORDER BY rowid').all() as SessionRow[]).map((r) => ({
      clientId: r.client_id,
      scope: r.scope,
      secretHash: r.secret_hash,
      tokenName: r.token_name,
      graceMs: r.grace_ms,
      received: r.received,
    }));
    const tasks = (db.prepare('SELECT * FROM tasks ORDER BY client_id, task_id').all() as { client_id: string; task_id: number; bundle: string; fn: string; args: Buffer; options: string | null }[]).map(
      (r): StoredTask => ({ clientId: r.client_id, taskId: r.task_id, bundle: r.bundle, fn: r.fn, args: new Uint8Array(r.args), ...(r.options ? (JSON.parse(r.options) as object) : {}) }),
    );
    const results = (db.prepare('SELECT * FROM results ORDER BY client_id, task_id').all() as { client_id: string; task_id: number; ok: number; value: Buffer | null; error: string | null }[]).map(
      (r): StoredResult => (r.ok ? { clientId: r.client_id, taskId: r.task_id, ok: true, value: new Uint8Array(r.value!) } : { clientId: r.client_id, taskId: r.task_id, ok: false, error: r.error! }),
    );
    const shared = (db.prepare('SELECT * FROM shared').all() as { client_id: string; name: string; value: Buffer; req: number | null }[]).map(
      (r): StoredShared => ({ clientId: r.client_id, name: r.name, value: new Uint8Array(r.value), ...(r.req === null ? {} : { req: r.req }) }),
    );
    const jobs = (db.prepare('SELECT * FROM jobs ORDER BY rowid').all() as { key: string; record: string }[]).map((r) => ({ key: r.key, record: r.record }));
    const counters = { completed: 0, failed: 0 };
    for (const r of db.prepare('SELECT * FROM counters').all() as { name: string; value: number }[]) {
      if (r.name === 'completed' || r.name === 'failed') counters[r.name] = r.value;
    }
    const trust = (db.prepare('SELECT * FROM trust').all() as { identity: string; checked: number; agreed: number; streak: number; quarantined: number }[]).map(
      (r): StoredTrust => ({ identity: r.identity, checked: r.checked, agreed: r.agreed, streak: r.streak, quarantined: r.quarantined === 1 }),
    );
    return { sessions, tasks, results, shared, jobs, counters, trust };
  }

  write(batch: Batch): void {
    this.writeBatch(batch);
  }

  private writeAll(b: Batch): void {
    const p = this.put;
    for (const s of b.sessions) p.session.run(s);
    for (const t of b.tasksAdded) {
      const { clientId, taskId, bundle, fn, args, ...rest } = t;
      // The task's options (timeout, attempts, chunk, job, needs, verify, equal) as JSON; most tasks have none.
      const options = Object.values(rest).some((v) => v !== undefined) ? JSON.stringify(rest) : null;
      p.task.run(clientId, taskId, bundle, fn, args, options);
    }
    for (const t of b.tasksEnded) p.taskEnded.run(t.clientId, t.taskId);
    for (const r of b.results) p.result.run(r.clientId, r.taskId, r.ok ? 1 : 0, r.value ?? null, r.error ?? null);
    for (const r of b.resultsAcked) p.resultAcked.run(r.clientId, r.taskId);
    for (const s of b.shared) p.shared.run(s.clientId, s.name, s.value, s.req ?? null);
    for (const j of b.jobs) p.job.run(j.key, j.record);
    for (const id of b.jobsEnded) p.jobEnded.run(id);
    for (const id of b.sessionsEnded) {
      p.sessionEnded.run(id);
      p.sessionTasks.run(id);
      p.sessionResults.run(id);
      p.sessionShared.run(id);
    }
    for (const t of b.trust) p.trust.run(t.identity, t.checked, t.agreed, t.streak, t.quarantined ? 1 : 0);
    if (b.counters) {
      p.counter.run('completed', b.counters.completed);
      p.counter.run('failed', b.counters.failed);
    }
  }

  bytes(): number {
    let total = 0;
    for (const suffix of ['', '-wal', '-shm']) {
      try {
        total += statSync(this.file + suffix).size;
      } catch {
        /* not there (yet) */
      }
    }
    return total;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
