// Fair share: which queued task a free slot of the grid takes next.
//
// The grid's slots are shared between clients equally, and a client's share
// between its jobs by their priorities (weights: a job of priority 2 is due
// twice the slots of its client's job of priority 1). A client's priorities
// order only its own jobs: raising them cannot take slots from other clients.
//
// A job is charged for a task from the moment a page is sent it until it
// finishes, is cancelled or is queued again ("held"), so shares are counted in
// held slots, which on a busy grid are the pages' threads plus their prefetch.
// The next task goes to the job furthest below its share (fewest held per
// unit of share); ties go to the job served least recently, so equal jobs
// alternate. Within a job, tasks queued again (their page was lost) go first,
// then the others in submission order.
//
// Holding counts are only as fair as pages turn them over: a page holds
// tasks it has not started (prefetch), so a new job may find every slot
// taken. `rebalance` says how many held tasks of which jobs are over their
// share, for the scheduler to take back unstarted ones and hand the slots on.

/** The job a task belongs to: its client, the job's name within it, and its weight there. */
export interface JobKey {
  client: string;
  job: string;
  /** Whole number >= 1 (default 1): its weight among its client's jobs. */
  priority?: number;
}

export const DEFAULT_JOB: JobKey = { client: '', job: '' };

interface Job<T> {
  key: string;
  client: string;
  name: string;
  priority: number;
  /** Tasks queued again: they go first. */
  front: T[];
  fresh: T[];
  freshHead: number;
  /** Live tasks queued (the arrays may hold removed ones, skipped lazily). */
  queued: number;
  held: number;
  /** When it was last served (a counter), for ties. */
  served: number;
}

export interface Rebalance {
  /** How many slots the jobs below their share are due (at most what they have queued). */
  due: number;
  /** Job key -> how many held tasks it has beyond its share. */
  excess: Map<string, number>;
}

const jobKey = (k: JobKey): string => `${k.client}\n${k.job}`;

export class FairQueue<T> {
  private readonly jobs = new Map<string, Job<T>>();
  /** Each task known (queued or held) and where. */
  private readonly tasks = new Map<T, { job: Job<T>; queued: boolean }>();
  private queuedTotal = 0;
  /** Clients whose tasks wait (see hold). */
  private readonly held = new Set<string>();
  private heldTotal = 0;
  private turn = 0;

  /** Tasks queued. */
  get size(): number {
    return this.queuedTotal;
  }

  /** Tasks queued that may be taken now (not those of held clients). */
  get ready(): number {
    if (this.held.size === 0) return this.queuedTotal;
    let n = this.queuedTotal;
    for (const job of this.jobs.values()) if (this.held.has(job.client)) n -= job.queued;
    return n;
  }

  /** Holds a client's queued tasks back (none is taken) or lets them go again. */
  hold(client: string, on: boolean): void {
    if (on) this.held.add(client);
    else this.held.delete(client);
  }

  /** Whether a task is queued (not held, not unknown). */
  isQueued(task: T): boolean {
    return this.tasks.get(task)?.queued === true;
  }

  /** The key of the job a queued or held task belongs to. */
  jobOf(task: T): string | undefined {
    return this.tasks.get(task)?.job.key;
  }

  /** The job a queued or held task belongs to, as given. */
  jobKeyOf(task: T): JobKey | undefined {
    const job = this.tasks.get(task)?.job;
    return job && { client: job.client, job: job.name, priority: job.priority };
  }

  enqueue(task: T, key: JobKey = DEFAULT_JOB): void {
    if (this.tasks.has(task)) throw new Error(`task ${String(task)} is already queued or held`);
    const job = this.job(key);
    job.fresh.push(task);
    this.markQueued(task, job);
  }

  /** Queues a held task again, ahead of its job's other tasks; a task not
   * known goes to the front of `key`'s job. */
  requeue(task: T, key: JobKey = DEFAULT_JOB): void {
    const known = this.tasks.get(task);
    if (known?.queued) throw new Error(`task ${String(task)} is already queued`);
    let job: Job<T>;
    if (known) {
      job = known.job;
      job.held--;
      this.heldTotal--;
    } else {
      job = this.job(key);
    }
    job.front.push(task);
    this.markQueued(task, job);
  }

  /** The next task for a free slot, now held; undefined when none is queued. */
  take(): T | undefined {
    const job = this.pick();
    if (!job) return undefined;
    const task = this.shift(job);
    const entry = this.tasks.get(task)!;
    entry.queued = false;
    job.queued--;
    this.queuedTotal--;
    job.held++;
    this.heldTotal++;
    job.served = ++this.turn;
    return task;
  }

  /** Forgets a task, queued or held: finished or cancelled. Returns whether it was queued. */
  remove(task: T): boolean {
    const entry = this.tasks.get(task);
    if (!entry) return false;
    this.tasks.delete(task);
    const job = entry.job;
    if (entry.queued) {
      job.queued--;
      this.queuedTotal--;
    } else {
      job.held--;
      this.heldTotal--;
    }
    this.retire(job);
    return entry.queued;
  }

  /** Which jobs hold more than their share while others with queued tasks
   * hold less (see the module comment). Shares are of the slots held now. */
  rebalance(): Rebalance {
    const out: Rebalance = { due: 0, excess: new Map() };
    if (this.queuedTotal === 0 || this.heldTotal === 0) return out;
    const shares = this.shares();
    for (const [job, share] of shares) {
      const target = share * this.heldTotal;
      const deficit = Math.floor(target) - job.held;
      if (job.queued > 0 && deficit >= 1 && !this.held.has(job.client)) out.due += Math.min(deficit, job.queued);
      const over = job.held - Math.ceil(target);
      if (over >= 1) out.excess.set(job.key, over);
    }
    if (out.due === 0) out.excess.clear();
    return out;
  }

  // ---- internals ----

  private job(key: JobKey): Job<T> {
    const k = jobKey(key);
    let job = this.jobs.get(k);
    if (!job) {
      job = { key: k, client: key.client, name: key.job, priority: 1, front: [], fresh: [], freshHead: 0, queued: 0, held: 0, served: 0 };
      this.jobs.set(k, job);
    }
    // The latest word on a job's priority holds.
    if (key.priority !== undefined) job.priority = key.priority;
    return job;
  }

  private markQueued(task: T, job: Job<T>): void {
    this.tasks.set(task, { job, queued: true });
    job.queued++;
    this.queuedTotal++;
  }

  /** Each active job's share of the grid: an equal part per client, split by priority. */
  private shares(): Map<Job<T>, number> {
    const weights = new Map<string, number>();
    for (const job of this.jobs.values()) weights.set(job.client, (weights.get(job.client) ?? 0) + job.priority);
    const shares = new Map<Job<T>, number>();
    for (const job of this.jobs.values()) shares.set(job, job.priority / weights.get(job.client)! / weights.size);
    return shares;
  }

  private pick(): Job<T> | undefined {
    if (this.queuedTotal === 0) return undefined;
    // One job (one client, the usual case): no shares to weigh, per task.
    if (this.jobs.size === 1 && this.held.size === 0) return this.jobs.values().next().value;
    const shares = this.shares();
    let best: Job<T> | undefined;
    let bestLoad = Infinity;
    for (const [job, share] of shares) {
      if (job.queued === 0 || this.held.has(job.client)) continue;
      const load = job.held / share;
      if (load < bestLoad || (load === bestLoad && job.served < best!.served)) {
        best = job;
        bestLoad = load;
      }
    }
    return best;
  }

  /** The job's next live queued task (removed ones are skipped). */
  private shift(job: Job<T>): T {
    for (;;) {
      let task: T;
      if (job.front.length > 0) {
        task = job.front.shift()!;
      } else {
        task = job.fresh[job.freshHead++];
        // Drop the consumed head once it dominates the array.
        if (job.freshHead > 1024 && job.freshHead * 2 > job.fresh.length) {
          job.fresh = job.fresh.slice(job.freshHead);
          job.freshHead = 0;
        }
      }
      const entry = this.tasks.get(task);
      if (entry?.queued && entry.job === job) return task;
    }
  }

  /** A job with nothing queued or held is forgotten (its arrays hold only removed tasks). */
  private retire(job: Job<T>): void {
    if (job.queued > 0 || job.held > 0) return;
    this.jobs.delete(job.key);
  }
}
