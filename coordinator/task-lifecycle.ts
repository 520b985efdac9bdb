// The task lifecycle: what happens to a grid task between its owner's submit
// and its end, whoever the owner is (an SDK client or a page releasing a
// subtask). It queues a task (a verified one as replicas), requeues what a
// page lost up to the task's attempts, ends a task with its subtree and its
// replicas, and carries out the verifier's verdicts. It holds no socket and
// no book: what the gateways, the job statistics and the journal must hear
// goes out as events, so each follows the tasks without the others calling
// it, and these policies can be tested without a socket.
import { ProtocolError, type TaskOutcome, type TaskSpec } from '../protocol/messages.ts';
import type { VerifyOption } from '../protocol/limits.ts';
import { Scheduler } from './scheduler.ts';
import type { JobKey } from './fair-queue.ts';
import { TaskStore, type Outcome, type Owner, type TaskRecord } from './task-store.ts';
import type { ClientId, PageId, ScopeId, TaskId } from './ids.ts';
import { Verifier, modeOption, parseVerifyMode, type PageSeat } from './verifier.ts';
import { majority, type Verdict } from './quorum.ts';

export interface LifecycleEvents {
  /** A task (never a replica) ended; each task ends once, whatever ended it. */
  ended: [record: TaskRecord, how: Outcome];
  /** A page lost the task (it left, went silent, or gave it back unfinished) and it is queued again. */
  requeued: [record: TaskRecord];
  /** The task (one of its replicas, for a verified task) started for the first time since it was queued. */
  started: [record: TaskRecord];
  /** What the task's owner gets: `outcome.id` is the owner's id for it. */
  outcome: [record: TaskRecord, outcome: TaskOutcome];
  /** A page holds a task it must drop. */
  revoke: [page: PageId, id: TaskId];
  /** A client's verified tasks wait for `pages` distinct pages (`joined` are). */
  verifyWaits: [client: ClientId, pages: number, joined: number];
}

/** A client's verified task got results whose bytes differ: its own `equal` judges them. */
export interface CompareQuestion {
  req: number;
  bundle: string;
  fn: string;
  pairs: [Uint8Array, Uint8Array][];
}

/** What the lifecycle asks of the gateways. */
export interface LifecyclePorts {
  /** A connected page's seat (where verification places replicas). */
  seatOf(page: PageId): PageSeat | undefined;
  /** Every connected page's seat. */
  seats(): Iterable<PageSeat>;
  /** Puts a question to a client; false when its session is gone. */
  ask(client: ClientId, question: CompareQuestion): boolean;
}

export interface LifecycleOptions {
  /** How many pages may be lost while running one task before it fails (default 3). */
  maxAttempts?: number;
  /** See HubOptions.spawnedBackupMs. */
  spawnedBackupMs?: number;
  /** How tasks' results are verified when their handle does not say (default 'off'). */
  verify?: VerifyOption;
  /** Random numbers in [0, 1) for spot checks. */
  random?: () => number;
}

type Listeners = { [K in keyof LifecycleEvents]: ((...args: LifecycleEvents[K]) => void)[] };

export class TaskLifecycle {
  readonly store: TaskStore;
  readonly scheduler: Scheduler<PageId, TaskId>;
  readonly verifier: Verifier;
  private readonly listeners: Listeners = { ended: [], requeued: [], started: [], outcome: [], revoke: [], verifyWaits: [] };
  /** The job each verified task's replicas are charged to. */
  private readonly verifiedJobs = new Map<TaskId, JobKey>();
  /** Questions out to clients about their verified tasks' results (see askClient). */
  private readonly comparing = new Map<number, { primary: TaskId; client: ClientId; pairs: [TaskOutcome, TaskOutcome][] }>();
  private nextCompare = 1;

  constructor(
    options: LifecycleOptions,
    private readonly ports: LifecyclePorts,
  ) {
    this.store = new TaskStore(options.maxAttempts ?? 3);
    this.scheduler = new Scheduler<PageId, TaskId>({
      spawned: (id) => this.store.get(id)?.spawned === true,
      spawnedBackupMs: options.spawnedBackupMs,
      needsOf: (id) => this.store.get(id)?.spec.needs,
      eligible: (pageId, id) => this.eligible(pageId, id),
    });
    this.verifier = new Verifier(parseVerifyMode(options.verify), options.random);
  }

  on<K extends keyof LifecycleEvents>(event: K, listener: (...args: LifecycleEvents[K]) => void): void {
    this.listeners[event].push(listener);
  }

  private emit<K extends keyof LifecycleEvents>(event: K, ...args: LifecycleEvents[K]): void {
    for (const listener of this.listeners[event]) listener(...args);
  }

  /** Queues a task in its job: the scheduler shares the grid between clients, and a client's share between its jobs. */
  enqueue(owner: Owner, scope: ScopeId, spec: TaskSpec, job: JobKey): TaskId {
    if (this.store.lookup(owner, spec.id) !== undefined) throw new ProtocolError(`task id ${spec.id} is already live`);
    const record = this.store.add(owner, scope, spec);
    this.queueTask(record, job, spec.verify, spec.equal);
    return record.id;
  }

  /** A task a restarted coordinator's store kept, queued again (the store held each id once). */
  restore(owner: Owner, scope: ScopeId, spec: TaskSpec, job: JobKey): TaskRecord {
    const record = this.store.add(owner, scope, spec);
    this.queueTask(record, job, spec.verify, spec.equal);
    return record;
  }

  /** A page started a task it holds. */
  started(id: TaskId, pageId: PageId): void {
    this.scheduler.started(id, pageId);
    // A replica's start is its verified task's.
    const record = this.store.get(this.verifier.primaryOf(id) ?? id);
    if (!record || record.started) return;
    record.started = true;
    this.emit('started', record);
  }

  /** A page's result for a task it holds (a replica's result is a vote). */
  result(pageId: PageId, seat: PageSeat, outcome: TaskOutcome): void {
    // A result from a page that no longer holds the task (cancelled, stolen,
    // or beaten by a backup copy) is a duplicate: drop it.
    const id = outcome.id as TaskId;
    const others = this.scheduler.finish(id, pageId);
    if (!others) return;
    for (const other of others) this.emit('revoke', other, id);
    if (this.verifier.primaryOf(id) !== undefined) {
      // A replica's result is a vote; its verified task ends when they agree.
      this.store.remove(id, 'completed');
      const voted = this.verifier.vote(id, seat, outcome);
      if (voted) this.act(voted.primary, voted.verdict);
      return;
    }
    this.drop(id, outcome.ok ? 'completed' : 'failed', outcome);
  }

  /** A page gave back a task unfinished (its Web Worker died): it runs again, up to its attempts. */
  lost(id: TaskId, pageId: PageId): void {
    if (this.scheduler.release(id, pageId)) this.retry(id);
  }

  /** A page left: the tasks it held run again, up to their attempts. */
  pageLost(pageId: PageId): void {
    for (const id of this.scheduler.removePage(pageId)) this.retry(id);
  }

  /** An owner cancels one of its tasks, by its own id for it. */
  cancel(owner: Owner, ownerTaskId: number): void {
    const id = this.store.lookup(owner, ownerTaskId);
    if (id !== undefined) this.drop(id, 'cancelled');
  }

  /** Cancels every task an owner submitted. */
  cancelOwned(owner: Owner): void {
    for (const id of this.store.ofOwner(owner)) this.drop(id, 'cancelled');
  }

  /** Cancels a client's whole task tree. */
  cancelScope(scope: ScopeId): void {
    for (const id of this.store.ofScope(scope)) this.drop(id, 'cancelled');
  }

  /** A client's answer to a CompareQuestion: for each pair, whether its two results agree. */
  compared(client: ClientId, req: number, equal: boolean[]): void {
    const ask = this.comparing.get(req);
    // Another client's question, or an answer of the wrong length, is not an answer.
    if (!ask || ask.client !== client || equal.length !== ask.pairs.length) return;
    this.comparing.delete(req);
    const verdict = this.verifier.judged(ask.primary, ask.pairs, equal);
    if (verdict) this.act(ask.primary, verdict);
  }

  /** A task whose page (or Web Worker) was lost runs again, up to its attempts. */
  private retry(id: TaskId): void {
    const record = this.store.get(id);
    if (!record) return;
    record.attempts++;
    record.started = false;
    record.spawned = false;
    if (record.attempts >= record.maxAttempts) {
      this.drop(id, 'failed', {
        id,
        ok: false,
        kind: 'lost',
        error: {
          name: 'TaskLostError',
          message: `task ${record.spec.fn} was lost ${record.attempts} times (its page closed, crashed or went silent while running it); giving up`,
        },
      });
    } else {
      this.scheduler.requeue(id);
      this.emit('requeued', record);
    }
  }

  /** Ends a task: unschedules it, cancels its subtree, and tells its owner
   * (a cancelled task's owner already knows). */
  drop(id: TaskId, how: Outcome, outcome?: TaskOutcome): void {
    const holders = this.scheduler.cancel(id);
    const record = this.store.remove(id, how);
    if (!record) return;
    if (record.replicaOf !== undefined) {
      for (const pageId of holders) this.emit('revoke', pageId, id);
      if (how === 'cancelled') this.verifier.withdraw(id);
      else {
        // It ended without a result (lost past its attempts): another may run.
        const ended = this.verifier.ended(id, outcome);
        if (ended) this.act(ended.primary, ended.verdict);
      }
      return;
    }
    // A verified task's replicas end with it.
    for (const replica of this.verifier.close(id)) {
      for (const pageId of this.scheduler.cancel(replica)) this.emit('revoke', pageId, replica);
      this.store.remove(replica, 'cancelled');
    }
    this.verifiedJobs.delete(id);
    if (this.comparing.size > 0) for (const [req, ask] of this.comparing) if (ask.primary === id) this.comparing.delete(req);
    this.emit('ended', record, how);
    if (how === 'cancelled') for (const pageId of holders) this.emit('revoke', pageId, id);
    if (outcome) {
      outcome.id = record.ownerTaskId;
      this.emit('outcome', record, outcome);
    } else if (how === 'cancelled' && record.owner.kind === 'page') {
      // A page's task awaits its subtask's future: settle it.
      this.emit('outcome', record, cancelledOutcome(record.ownerTaskId, 'the subtask was cancelled'));
    }
  }

  // ---- verification (see verifier.ts) ----

  /** Queues a task, or, when it is verified, its first replicas. */
  private queueTask(record: TaskRecord, job: JobKey, option: VerifyOption | undefined, equal: string | undefined): void {
    const mode = this.verifier.modeFor(option);
    if (!mode) {
      delete record.spec.verify;
      this.scheduler.enqueue(record.id, job);
      return;
    }
    record.spec.verify = modeOption(mode);
    this.verifiedJobs.set(record.id, job);
    const n = this.verifier.open(record.id, mode, equal);
    for (let i = 0; i < n; i++) this.launchReplica(record, job);
    if (mode.kind === 'fixed' && majority(mode.n) > this.verifier.eligibleIdentities) this.warnVerify(record, majority(mode.n));
  }

  /** Tells a task's client that its verified tasks wait for `pages` distinct pages. */
  private warnVerify(record: TaskRecord, pages: number): void {
    if (record.owner.kind === 'client') this.emit('verifyWaits', record.owner.id, pages, this.verifier.eligibleIdentities);
  }

  /** `check`: a replica that checks or breaks a tie goes to the front of
   * its job's queue: until it runs, a result waits, and a liar goes on
   * getting work. */
  private launchReplica(record: TaskRecord, job: JobKey, check = false): void {
    const replica = this.store.addReplica(record, record.spec);
    this.verifier.addReplica(record.id, replica.id);
    if (check) this.scheduler.requeue(replica.id, job);
    else this.scheduler.enqueue(replica.id, job);
  }

  /** Whether a page may run a task: any task but a replica, which verifier.ts places. */
  private eligible(pageId: PageId, id: TaskId): boolean {
    if (this.verifier.primaryOf(id) === undefined) return true;
    const seat = this.ports.seatOf(pageId);
    return seat !== undefined && this.verifier.eligible(id, seat, (sibling) => this.seatsHolding(sibling));
  }

  private seatsHolding(id: TaskId): PageSeat[] {
    const seats: PageSeat[] = [];
    for (const pageId of this.scheduler.holdersOf(id)) {
      const seat = this.ports.seatOf(pageId);
      if (seat) seats.push(seat);
    }
    return seats;
  }

  /** Carries out a verified task's verdict. */
  private act(primary: TaskId, verdict: Verdict<TaskOutcome>): void {
    const record = this.store.get(primary);
    if (!record) return;
    if (verdict.kind !== 'accept' && verdict.kind !== 'pending' && this.askClient(record)) return;
    switch (verdict.kind) {
      case 'pending':
        return;
      case 'more': {
        const job = this.verifiedJobs.get(primary);
        if (!job) return;
        if (!this.verifier.canPlaceMore(primary, (sibling) => this.seatsHolding(sibling))) {
          const failed = this.verifier.giveUp(primary);
          if (failed.distinct > 1) {
            // Results disagree and no joined page can break the tie: failing
            // now beats waiting in silence for a page that may never join.
            this.verifier.settle(primary, failed);
            this.drop(primary, 'failed', unverifiedOutcome(primary, record.spec.fn, { ...failed, noPlace: true }));
            return;
          }
          // Nothing disagrees; it lacks pages to confirm it (a grid of one
          // page, say): the copy waits for one to join, and the client hears why.
          this.verifier.stall(primary);
          this.warnVerify(record, this.verifier.requiredPages(primary));
        }
        this.verifier.launched(primary, verdict.count);
        for (let i = 0; i < verdict.count; i++) this.launchReplica(record, job, true);
        return;
      }
      case 'accept': {
        const quarantined = this.verifier.settle(primary, verdict);
        this.drop(primary, verdict.outcome.ok ? 'completed' : 'failed', { ...verdict.outcome });
        for (const identity of quarantined) this.onQuarantined(identity);
        return;
      }
      case 'fail': {
        this.verifier.settle(primary, verdict);
        const lost = verdict.runs === 0 ? this.verifier.lastEnded(primary) : undefined;
        this.drop(primary, 'failed', lost ? { ...lost } : unverifiedOutcome(primary, record.spec.fn, verdict));
        return;
      }
    }
  }

  /** A task verified with the client's own `equal` got results whose bytes
   * differ: its client judges them before more copies run or it fails.
   * True while the client is asked. */
  private askClient(record: TaskRecord): boolean {
    if (this.verifier.asking(record.id)) return true;
    const ask = this.verifier.toJudge(record.id);
    if (!ask || record.owner.kind !== 'client') return false;
    const req = this.nextCompare;
    const values = ask.pairs.map(([a, b]) => [(a as { value: Uint8Array }).value, (b as { value: Uint8Array }).value] as [Uint8Array, Uint8Array]);
    if (!this.ports.ask(record.owner.id, { req, bundle: record.spec.bundle, fn: ask.bundleFn, pairs: values })) return false;
    this.nextCompare++;
    this.comparing.set(req, { primary: record.id, client: record.owner.id, pairs: ask.pairs });
    return true;
  }

  /** An identity lost a quorum: its pages take no more verified work, and
   * its votes in tasks not yet decided no longer count. */
  private onQuarantined(identity: string): void {
    for (const seat of this.ports.seats()) if (seat.identity === identity) this.verifier.unseat(seat);
    for (const { primary, verdict } of this.verifier.requarantined(identity)) this.act(primary, verdict);
  }
}

function unverifiedOutcome(id: number, fn: string, v: { distinct: number; runs: number; noPlace?: boolean }): TaskOutcome {
  const why = v.noPlace ? '; no other joined page can run another copy' : '';
  const message =
    v.runs === 0
      ? `task ${fn} could not be verified: no copy returned a result${why}`
      : `task ${fn} could not be verified: its ${v.runs} results from distinct pages were ${v.distinct} different ones and no quorum agreed${why} ` +
        '(a task whose result is not deterministic cannot be verified by comparing bytes)';
  return { id, ok: false, kind: 'unverified', error: { name: 'VerificationError', message }, verify: { distinct: v.distinct, runs: v.runs } };
}

export function cancelledOutcome(id: number, message: string): TaskOutcome {
  return { id, ok: false, kind: 'cancelled', error: { name: 'CancelledError', message } };
}
