// The hub's side of the durable store: it notes what changed while the
// event loop turns and writes it as one batch (one transaction) before the
// hub sends anything to a client, so a client never drops a frame (on the
// coordinator's ack) whose effects the store does not hold. A task added and
// ended in the same turn never reaches the store. A result is held here
// until its client acknowledges it, usually within milliseconds: then its
// task's row is deleted and the result itself never written. Only a result
// unacknowledged for HOLD_MS (its client is away) is written, with the end
// of its task, in one batch; a crash meanwhile only reruns that task.
import { createHash } from 'node:crypto';
import type { TaskOutcome, TaskSpec } from '../protocol/messages.ts';
import { emptyBatch, type Batch, type Store, type StoredResult, type StoredSession, type StoredTrust } from './store/store.ts';
import type { TrustRecord } from './trust.ts';

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** What the journal reads from a session when it writes it. */
export interface JournaledSession {
  readonly id: string;
  readonly scope: string;
  readonly secretHash: string;
  readonly tokenName: string;
  readonly graceMs: number;
  readonly received: number;
}

const key = (clientId: string, taskId: number) => `${clientId}\u0000${taskId}`;

/** How long a result waits for its client's acknowledgement before it is written. */
export const HOLD_MS = 500;

interface Held {
  row: StoredResult;
  /** Its task has a row in the store, to delete along with it. */
  endsTask: boolean;
  at: number;
}

export class Journal {
  private batch: Batch = emptyBatch();
  private readonly sessions = new Set<JournaledSession>();
  /** Tasks added this turn, so an end in the same turn cancels the add. */
  private readonly added = new Map<string, number>();
  private readonly jobs = new Map<string, () => string>();
  private readonly trusts = new Map<string, StoredTrust>();
  /** Tasks ended this turn whose rows are in the store. */
  private readonly ended = new Set<string>();
  /** Results not acknowledged yet, oldest first, by key. */
  private readonly held = new Map<string, Held>();
  private holdTimer: ReturnType<typeof setTimeout> | undefined;
  private counted = false;
  private dirty = false;
  private queued = false;
  private closed = false;
  private failed = false;

  constructor(
    private readonly store: Store,
    /** The totals written beside the batch. */
    private readonly counters: () => { completed: number; failed: number },
    /** A write failed (disk full): nothing of that batch may be acknowledged. */
    private readonly onFailure: (error: Error) => void,
    private readonly holdMs = HOLD_MS,
    private readonly now: () => number = Date.now,
  ) {}

  session(s: JournaledSession): void {
    this.sessions.add(s);
    this.touch();
  }

  sessionEnded(clientId: string): void {
    for (const [k, h] of this.held) if (h.row.clientId === clientId) this.held.delete(k);
    this.batch.sessionsEnded.push(clientId);
    this.touch();
  }

  taskAdded(clientId: string, spec: TaskSpec): void {
    this.added.set(key(clientId, spec.id), this.batch.tasksAdded.length);
    this.batch.tasksAdded.push({ clientId, taskId: spec.id, bundle: spec.bundle, fn: spec.fn, args: spec.args, timeout: spec.timeout, attempts: spec.attempts, chunk: spec.chunk, calls: spec.calls, job: spec.job, needs: spec.needs, verify: spec.verify, equal: spec.equal });
    this.touch();
  }

  taskEnded(clientId: string, taskId: number): void {
    const at = this.added.get(key(clientId, taskId));
    if (at !== undefined) {
      this.added.delete(key(clientId, taskId));
      // Emptied rather than spliced: other adds keep their positions.
      this.batch.tasksAdded[at] = undefined as never;
    } else {
      // Written at the commit, unless a result follows this turn: then with it.
      this.ended.add(key(clientId, taskId));
    }
    this.counted = true;
    this.touch();
  }

  result(clientId: string, outcome: TaskOutcome): void {
    const row: StoredResult = outcome.ok
      ? { clientId, taskId: outcome.id, ok: true, value: outcome.value }
      : { clientId, taskId: outcome.id, ok: false, error: JSON.stringify({ kind: outcome.kind, error: outcome.error }) };
    const k = key(clientId, outcome.id);
    this.held.set(k, { row, endsTask: this.ended.delete(k), at: this.now() });
    this.touch();
  }

  acked(clientId: string, taskIds: number[]): void {
    if (taskIds.length === 0) return;
    for (const taskId of taskIds) {
      const k = key(clientId, taskId);
      const held = this.held.get(k);
      if (!held) {
        this.batch.resultsAcked.push({ clientId, taskId });
      } else {
        this.held.delete(k);
        if (held.endsTask) this.batch.tasksEnded.push({ clientId, taskId });
      }
    }
    this.touch();
  }

  shared(clientId: string, values: Record<string, Uint8Array>, req: number): void {
    for (const [name, value] of Object.entries(values)) this.batch.shared.push({ clientId, name, value, req });
    this.touch();
  }

  /** A job record changed; `record` is read when the batch is written. */
  job(key: string, record: () => string): void {
    this.jobs.set(key, record);
    this.touch();
  }

  jobEnded(key: string): void {
    this.jobs.delete(key);
    this.batch.jobsEnded.push(key);
    this.touch();
  }

  /** A page identity's record moved; the latest of the turn is written. */
  trust(identity: string, record: Readonly<TrustRecord>): void {
    this.trusts.set(identity, { identity, ...record });
    this.touch();
  }

  /** Writes what changed since the last commit. False when the store failed:
   * the caller then sends nothing that this batch would have covered. */
  commit(): boolean {
    if (this.failed) return false;
    if (this.closed) return true;
    this.release(this.now() - this.holdMs);
    if (!this.dirty) return true;
    const batch = this.batch;
    for (const k of this.ended) {
      const [clientId, taskId] = k.split('\u0000');
      batch.tasksEnded.push({ clientId, taskId: Number(taskId) });
    }
    this.ended.clear();
    batch.tasksAdded = batch.tasksAdded.filter((t) => t !== undefined);
    batch.sessions = [...this.sessions].map(
      (s): StoredSession => ({ clientId: s.id, scope: s.scope, secretHash: s.secretHash, tokenName: s.tokenName, graceMs: s.graceMs, received: s.received }),
    );
    for (const [key, record] of this.jobs) batch.jobs.push({ key, record: record() });
    if (this.trusts.size > 0) {
      batch.trust = [...this.trusts.values()];
      this.trusts.clear();
    }
    if (this.counted) batch.counters = this.counters();
    this.batch = emptyBatch();
    this.sessions.clear();
    this.added.clear();
    this.jobs.clear();
    this.counted = false;
    this.dirty = false;
    try {
      this.store.write(batch);
    } catch (e) {
      this.fail(e as Error);
      return false;
    }
    return true;
  }

  /** Moves results held since `before` (all with Infinity) into the batch, with their tasks' ends. */
  private release(before: number): void {
    for (const [k, h] of this.held) {
      if (h.at > before) break;
      this.held.delete(k);
      this.batch.results.push(h.row);
      if (h.endsTask) this.batch.tasksEnded.push({ clientId: h.row.clientId, taskId: h.row.taskId });
      this.dirty = true;
    }
    // Results still held are looked at again when they are due, busy or not.
    if (this.held.size > 0 && !this.holdTimer) {
      this.holdTimer = setTimeout(() => {
        this.holdTimer = undefined;
        this.commit();
      }, this.holdMs);
      this.holdTimer.unref();
    }
  }

  /** Writes the last batch, results still held included, and closes the store; later notes are dropped. */
  close(): void {
    clearTimeout(this.holdTimer);
    this.release(Infinity);
    this.commit();
    this.closed = true;
    this.store.close();
  }

  private fail(error: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.onFailure(error);
  }

  /** Whatever else happens this turn, the batch is written at its end. */
  private touch(): void {
    this.dirty = true;
    if (this.queued || this.closed) return;
    this.queued = true;
    setImmediate(() => {
      this.queued = false;
      this.commit();
    });
  }
}
