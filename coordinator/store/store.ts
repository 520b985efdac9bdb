// What a durable coordinator remembers, behind an interface small enough for
// another engine: SQLite under --data today; PostgreSQL or Redis later, so
// that several coordinators can share one grid. The hub never reads the store
// while it runs: it loads everything once at start, then only writes, one
// batch per turn of its event loop.

import type { Need } from '../../protocol/needs.ts';
import type { VerifyOption } from '../../protocol/limits.ts';

/** A client's session, enough to let it resume after a restart. */
export interface StoredSession {
  clientId: string;
  /** What pages know its task tree by. */
  scope: string;
  /** sha256 (hex) of the session secret: the file never holds the secret itself. */
  secretHash: string;
  tokenName: string;
  graceMs: number;
  /** The last client frame the coordinator processed (its effects are in the same batch). */
  received: number;
}

/** A task the client submitted that has no outcome yet (queued or running). */
export interface StoredTask {
  clientId: string;
  /** The client's own id for it. */
  taskId: number;
  bundle: string;
  fn: string;
  args: Uint8Array;
  timeout?: number;
  attempts?: number;
  chunk?: true;
  /** How many calls a chunk carries (its job's progress counts calls). */
  calls?: number;
  /** The client's job it counts against (0, the session's, when absent). */
  job?: number;
  /** What the page running it must have. */
  needs?: Need[];
  /** How its results are verified, when the client said, and the client's own comparison. */
  verify?: VerifyOption;
  equal?: string;
}

/** An outcome the client has not acknowledged yet. */
export interface StoredResult {
  clientId: string;
  taskId: number;
  ok: boolean;
  /** The packed value when ok. */
  value?: Uint8Array;
  /** JSON of { kind, error } when not ok. */
  error?: string;
}

export interface StoredJob {
  /** The job's key in the hub's job book (its client and the client's number for it). */
  key: string;
  /** JSON of the dashboard's job record. */
  record: string;
}

/** A shared constant, with the client's request that set it: a restarted
 * coordinator answers that request again when the client resumes, since the
 * first answer may have been lost with the process. */
export interface StoredShared {
  clientId: string;
  name: string;
  value: Uint8Array;
  req?: number;
}

/** A page identity's record of checked results (see trust.ts): a liar
 * quarantined before a restart stays quarantined after it. */
export interface StoredTrust {
  identity: string;
  checked: number;
  agreed: number;
  streak: number;
  quarantined: boolean;
}

/** Everything a restarted coordinator needs. */
export interface Snapshot {
  sessions: StoredSession[];
  tasks: StoredTask[];
  results: StoredResult[];
  shared: StoredShared[];
  jobs: StoredJob[];
  counters: { completed: number; failed: number };
  trust: StoredTrust[];
}

/** Changes to apply at once, atomically (one transaction). */
export interface Batch {
  /** New or changed sessions (`received` moves on). */
  sessions: StoredSession[];
  /** Sessions gone: their tasks, results, constants go with them. */
  sessionsEnded: string[];
  tasksAdded: StoredTask[];
  tasksEnded: { clientId: string; taskId: number }[];
  results: StoredResult[];
  resultsAcked: { clientId: string; taskId: number }[];
  shared: StoredShared[];
  jobs: StoredJob[];
  jobsEnded: string[];
  counters?: { completed: number; failed: number };
  /** Records that changed (the latest of each identity). */
  trust: StoredTrust[];
}

export interface Store {
  /** What the previous run left; an empty snapshot for a new store. */
  load(): Snapshot;
  /** Applies one batch atomically, before the hub acknowledges any client
   * frame it covers. A failure (disk full) throws: the caller acknowledges
   * nothing of that batch. (An engine over the network will make this a
   * promise, and the journal will hold those acknowledgements until it settles.) */
  write(batch: Batch): void;
  /** How many bytes the store takes on disk (for the bench and the dashboard). */
  bytes(): number;
  close(): void;
}

/** A store refused to open (corrupt, foreign, newer, unwritable): the message says what to do. */
export class StoreError extends Error {
  override name = 'StoreError';
}

export function emptyBatch(): Batch {
  return { sessions: [], sessionsEnded: [], tasksAdded: [], tasksEnded: [], results: [], resultsAcked: [], shared: [], jobs: [], jobsEnded: [], trust: [] };
}
