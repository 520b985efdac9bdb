// The jobs of the SDK clients, for fair share and for the dashboard: each
// client's job 0 is its session (named by connect's `name`), and a map-like
// call given a `name` or `priority` is a job of its own. A job counts its
// tasks (submitted, done, failed, cancelled), knows how many a map expects,
// and measures its rate over the last few seconds for an ETA.
import { ProtocolError } from '../protocol/messages.ts';
import type { JobKey } from './fair-queue.ts';
import type { JobStats } from './stats.ts';
import type { ClientId, TaskId } from './ids.ts';
import type { Outcome } from './task-store.ts';

interface Job {
  id: number;
  client: ClientId;
  /** The client's number for it. */
  no: number;
  token: string;
  name: string;
  priority: number;
  /** Tasks its maps said they would submit. */
  total: number;
  submitted: number;
  done: number;
  failed: number;
  cancelled: number;
  active: boolean;
  since: number;
  until?: number;
  /** (time, tasks finished) about once a second, for the rate. */
  samples: { at: number; finished: number }[];
}

/** Jobs one client may have at once; past it, its jobs with no unfinished task make room. */
export const MAX_JOBS_PER_CLIENT = 1000;
/** Ended jobs (their client gone) kept for the dashboard. */
const ENDED_JOBS_KEPT = 20;
/** The rate is measured over about this long. */
const RATE_WINDOW_MS = 10_000;

const finished = (j: Job) => j.done + j.failed + j.cancelled;

/** Where a durable coordinator keeps job records (the journal): written at most once a turn. */
export interface JobRecorder {
  job(key: string, record: () => string): void;
  jobEnded(key: string): void;
}

export class JobBook {
  private nextId = 1;
  /** Oldest first. */
  private readonly jobs = new Map<string, Job>();
  /** Each live task's job, and how many calls it counts for (a chunk several). */
  private readonly byTask = new Map<TaskId, { job: Job; calls: number }>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly recorder?: JobRecorder,
  ) {}

  /** The records a durable store kept; jobs of clients that did not come back have ended. */
  restore(records: { key: string; record: string }[], live: (client: ClientId) => boolean): void {
    for (const { key: k, record } of records) {
      const job = JSON.parse(record) as Job;
      if (job.active && !live(job.client)) Object.assign(job, { active: false, until: this.now() });
      this.jobs.set(k, job);
      this.nextId = Math.max(this.nextId, job.id + 1);
    }
  }

  /** A restored task counts in its job again (it was submitted before the restart). */
  adopt(job: Job, task: TaskId, calls = 1): void {
    this.byTask.set(task, { job, calls });
  }

  /** A job of `client` by its number: job 0 always exists; others once declared. */
  get(client: ClientId, no: number, token: string): Job | undefined {
    const job = this.jobs.get(key(client, no));
    if (job || no !== 0) return job;
    return this.create(client, 0, token);
  }

  /** Names a job or updates it (the `job` message). Throws a ProtocolError when the client has too many jobs with tasks unfinished. */
  declare(client: ClientId, token: string, msg: { job: number; name?: string; priority?: number; adds?: number }): void {
    let job = this.jobs.get(key(client, msg.job));
    if (!job) {
      this.makeRoom(client);
      job = this.create(client, msg.job, token);
    }
    if (msg.name !== undefined) job.name = msg.name;
    if (msg.priority !== undefined) job.priority = msg.priority;
    if (msg.adds !== undefined) job.total += msg.adds;
    this.changed(job);
  }

  /** The scheduler's key for a job. */
  key(job: Job): JobKey {
    return { client: job.client, job: String(job.no), priority: job.priority };
  }

  /** A task of `calls` calls was submitted to a job; `task` is its grid id once queued (undefined when refused: it counts as failed). */
  submitted(job: Job, task: TaskId | undefined, calls = 1): void {
    job.submitted += calls;
    if (task === undefined) job.failed += calls;
    else this.byTask.set(task, { job, calls });
    this.changed(job);
  }

  /** A task ended. */
  settled(task: TaskId, how: Outcome): void {
    const entry = this.byTask.get(task);
    if (!entry) return;
    this.byTask.delete(task);
    const { job, calls } = entry;
    // A job never counts more calls finished than submitted: after a restart, a
    // task the store still held may already have been counted before the crash
    // (its end was written with the job, its result not yet acknowledged).
    const counted = Math.min(calls, job.submitted - finished(job));
    if (counted > 0) job[how === 'completed' ? 'done' : how] += counted;
    this.changed(job);
  }

  /** A client left: its jobs end (the last few stay on show). */
  clientGone(client: ClientId): void {
    const at = this.now();
    for (const job of this.jobs.values()) {
      if (job.client !== client) continue;
      job.active = false;
      job.until = at;
      this.changed(job);
    }
    const ended = [...this.jobs].filter(([, j]) => !j.active);
    for (const [k] of ended.slice(0, Math.max(0, ended.length - ENDED_JOBS_KEPT))) this.drop(k);
  }

  /** Every job with tasks (or a name), oldest first, with its rate and ETA. */
  list(): JobStats[] {
    const now = this.now();
    const out: JobStats[] = [];
    for (const job of this.jobs.values()) {
      if (job.submitted === 0 && job.name === '' && job.total === 0) continue;
      const expected = Math.max(job.total, job.submitted);
      const left = expected - finished(job);
      const rate = this.rate(job, now);
      out.push({
        id: job.id,
        token: job.token,
        name: job.name,
        priority: job.priority,
        submitted: job.submitted,
        expected,
        done: job.done,
        failed: job.failed,
        cancelled: job.cancelled,
        active: job.active,
        seconds: Math.round(((job.until ?? now) - job.since) / 1000),
        rate: Math.round(rate * 10) / 10,
        etaSeconds: job.active && left > 0 && rate > 0 ? Math.ceil(left / rate) : undefined,
      });
    }
    return out;
  }

  // ---- internals ----

  private create(client: ClientId, no: number, token: string): Job {
    const job: Job = {
      id: this.nextId++,
      client,
      no,
      token,
      name: '',
      priority: 1,
      total: 0,
      submitted: 0,
      done: 0,
      failed: 0,
      cancelled: 0,
      active: true,
      since: this.now(),
      samples: [],
    };
    this.jobs.set(key(client, no), job);
    this.changed(job);
    return job;
  }

  /** Below the cap, or the client's oldest jobs with nothing unfinished go. */
  private makeRoom(client: ClientId): void {
    const own = [...this.jobs].filter(([, j]) => j.client === client);
    if (own.length < MAX_JOBS_PER_CLIENT) return;
    const idle = own.filter(([, j]) => j.no !== 0 && finished(j) === j.submitted);
    if (idle.length === 0) throw new ProtocolError(`a client may have at most ${MAX_JOBS_PER_CLIENT} jobs with unfinished tasks`);
    this.drop(idle[0][0]);
  }

  private changed(job: Job): void {
    this.recorder?.job(key(job.client, job.no), () => JSON.stringify(job));
  }

  private drop(k: string): void {
    this.jobs.delete(k);
    this.recorder?.jobEnded(k);
  }

  /** Tasks finished per second over the last RATE_WINDOW_MS (sampled when listed). */
  private rate(job: Job, now: number): number {
    const s = job.samples;
    if (s.length === 0 || now - s[s.length - 1].at >= 1000) s.push({ at: now, finished: finished(job) });
    while (s.length > 2 && now - s[1].at >= RATE_WINDOW_MS) s.shift();
    const first = s[0];
    const elapsed = now - first.at;
    // Since the job began when no sample is old enough yet.
    if (elapsed < 1000) return now - job.since >= 1000 ? (finished(job) * 1000) / (now - job.since) : 0;
    return ((finished(job) - first.finished) * 1000) / elapsed;
  }
}

function key(client: ClientId, no: number): string {
  return `${client}\n${no}`;
}
