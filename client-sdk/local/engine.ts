// A local grid's scheduler, in process: what the coordinator and a page do
// together, for one client and one machine. Tasks wait in two queues, the
// client's (first in, first out) and the subtasks tasks spawn (newest first,
// which keeps a deep tree small); each worker thread runs one task at a
// time besides those waiting on subtasks, so a task awaiting its subtasks
// frees its thread and deep recursion cannot deadlock. A subtask's outcome
// goes back to the thread whose task spawned it.
import type { FromWebWorker, RemoteErrorInfo, TaskOutcome, TaskSpec } from '../../protocol/messages.ts';
import { ThreadPool, type Thread } from './thread-pool.ts';
import { DEFAULT_LIMITS, withinResultLimit } from '../../protocol/limits.ts';
import { workerScript } from './worker-script.ts';

/** Every task of a local grid belongs to its one client. */
const SCOPE = 'local';

/** Threads that may die while running a task before it fails (the coordinator's default). */
const DEFAULT_ATTEMPTS = 3;

/** A task to run: a client's, or a subtask of a task running on a thread. */
export interface Run {
  /** As sent to a thread: `id` is the engine's run id. */
  spec: TaskSpec;
  from: { client: number } | { thread: Thread; local: number };
  /** Threads that died while running it. */
  lost: number;
}

export interface EngineEvents {
  /** Once per turn: the client's tasks that started and those that ended, by the client's ids. */
  output(started: number[], results: TaskOutcome[]): void;
}

export class LocalEngine {
  private readonly bundles = new Map<string, string>();
  private readonly shared = new Map<string, Uint8Array>();
  /** Runs not settled nor withdrawn, by run id. */
  private readonly runs = new Map<number, Run>();
  /** The client's runs, by the client's id. */
  private readonly byClientId = new Map<number, Run>();
  private queue: Run[] = [];
  private ready: Run[] = [];
  private nextRun = 1;
  private out = { started: [] as number[], results: [] as TaskOutcome[] };
  private flushQueued = false;
  private stopped = false;
  /** Why no task can run any more: every thread failed to start. */
  private broken: string | undefined;
  private readonly pool: ThreadPool;

  private constructor(script: URL, private readonly events: EngineEvents) {
    this.pool = new ThreadPool(script, {
      report: (thread, msg) => this.report(thread, msg),
      died: (thread, reason) => this.died(thread, reason),
    });
  }

  /** `script` is the worker threads' script (tests give a broken one). */
  static async start(threads: number, events: EngineEvents, script?: URL): Promise<LocalEngine> {
    const engine = new LocalEngine(script ?? (await workerScript()), events);
    try {
      await engine.pool.start(threads);
    } catch (e) {
      await engine.stop();
      throw new Error(`local mode could not start its worker threads: ${(e as Error).message}`);
    }
    return engine;
  }

  addBundle(hash: string, code: string): void {
    this.bundles.set(hash, code);
  }

  /** Sets constants; an error message if a name is already set (nothing is then set). */
  share(values: Record<string, Uint8Array>): string | undefined {
    const taken = Object.keys(values).filter((name) => this.shared.has(name));
    if (taken.length > 0) return `shared constants are set once; already set: ${taken.join(', ')}`;
    for (const [name, value] of Object.entries(values)) this.shared.set(name, value);
    return undefined;
  }

  submit(tasks: TaskSpec[]): void {
    if (this.stopped) return;
    for (const task of tasks) {
      const run: Run = { spec: { ...task, id: this.nextRun++, scope: SCOPE }, from: { client: task.id }, lost: 0 };
      this.runs.set(run.spec.id, run);
      this.byClientId.set(task.id, run);
      this.queue.push(run);
    }
    this.pump();
  }

  /** The client withdraws tasks: those not started never run; a started one's outcome is dropped. */
  cancel(clientIds: number[]): void {
    for (const id of clientIds) {
      const run = this.byClientId.get(id);
      if (run) this.withdraw(run.spec.id);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.runs.clear();
    this.byClientId.clear();
    this.queue = [];
    this.ready = [];
    await this.pool.stop();
  }

  // ---- threads ----

  private report(thread: Thread, msg: FromWebWorker): void {
    for (const id of msg.started) {
      const run = thread.runs.get(id);
      if (!run) continue;
      if ('client' in run.from && this.runs.get(id) === run) this.out.started.push(run.from.client);
      const timeout = run.spec.timeout;
      if (timeout !== undefined) thread.timers.set(id, setTimeout(() => this.timedOut(thread, id), timeout));
    }
    for (const spec of msg.submit) this.spawned(thread, spec);
    for (const local of msg.cancel) {
      const id = thread.subtasks.get(local);
      if (id === undefined) continue;
      thread.subtasks.delete(local);
      this.withdraw(id);
    }
    msg.done.forEach((outcome, i) => {
      const run = thread.runs.get(outcome.id);
      if (!run) return;
      // As a page does: the SDK sizes its automatic chunks by this.
      outcome.ms = msg.took[i];
      thread.runs.delete(outcome.id);
      clearTimeout(thread.timers.get(outcome.id));
      thread.timers.delete(outcome.id);
      this.settle(run, outcome);
    });
    thread.blocked = msg.blocked;
    this.pump();
    this.scheduleFlush();
  }

  private spawned(thread: Thread, spec: TaskSpec): void {
    const id = this.nextRun++;
    const run: Run = { spec: { id, bundle: spec.bundle, fn: spec.fn, args: spec.args, scope: SCOPE }, from: { thread, local: spec.id }, lost: 0 };
    if (spec.timeout !== undefined) run.spec.timeout = spec.timeout;
    if (spec.attempts !== undefined) run.spec.attempts = spec.attempts;
    this.runs.set(id, run);
    thread.subtasks.set(spec.id, id);
    this.ready.push(run);
  }

  private timedOut(thread: Thread, id: number): void {
    const run = thread.runs.get(id);
    if (!run || thread.ended) return;
    thread.runs.delete(id);
    thread.timers.delete(id);
    const message = `task ${run.spec.fn} ran past its timeout of ${run.spec.timeout} ms; its worker thread was stopped and replaced`;
    this.settle(run, { id, ok: false, kind: 'timeout', error: { name: 'TimeoutError', message } });
    // Everything else in that thread dies with it: it runs again.
    this.replace(thread, (other) => this.requeue(other));
  }

  /** A thread exited on its own: its tasks run again elsewhere, up to their attempts. */
  private died(thread: Thread, reason: string): void {
    if (this.stopped) return;
    if (!thread.up && thread.runs.size === 0) {
      // It died starting, not of a task: a new one would too, over and over.
      // (One holding tasks is replaced: their attempts bound the retries.)
      console.error(`ladle: a worker thread of the local grid failed to start (${reason}); running on ${this.pool.threads.length - 1}`);
      this.pool.remove(thread);
      if (this.pool.threads.length === 0) this.broken = `no worker thread is left (${reason})`;
      this.pump();
      return;
    }
    this.replace(thread, (run) => {
      if (this.runs.get(run.spec.id) !== run) return;
      run.lost++;
      const attempts = run.spec.attempts ?? DEFAULT_ATTEMPTS;
      if (run.lost < attempts) return this.requeue(run);
      const error: RemoteErrorInfo = { name: 'TaskLostError', message: `task ${run.spec.fn} was lost ${run.lost} times (${reason}); giving up` };
      this.settle(run, { id: run.spec.id, ok: false, kind: 'lost', error });
    });
    this.scheduleFlush();
  }

  /** A fresh thread takes the place of `thread`; the subtasks its tasks
   * spawned are no longer wanted, and its other runs meet `fate`. */
  private replace(thread: Thread, fate: (run: Run) => void): void {
    const others = [...thread.runs.values()];
    thread.runs.clear();
    for (const id of thread.subtasks.values()) this.withdraw(id);
    thread.subtasks.clear();
    this.pool.replace(thread);
    for (const run of others) fate(run);
    this.pump();
    this.scheduleFlush();
  }

  // ---- queues ----

  /** Gives waiting tasks to free threads: subtasks first, newest first. */
  private pump(): void {
    if (this.stopped) return;
    if (this.broken !== undefined) {
      const lost = (run: Run): TaskOutcome => ({ id: run.spec.id, ok: false, kind: 'lost', error: { name: 'TaskLostError', message: `task ${run.spec.fn} cannot run: ${this.broken}` } });
      for (const run of [...this.runs.values()]) this.settle(run, lost(run));
      this.queue = [];
      this.ready = [];
      this.scheduleFlush();
      return;
    }
    for (;;) {
      const thread = this.pool.free();
      if (!thread) return;
      const run = this.ready.pop() ?? this.queue.shift();
      if (!run) return;
      const code = this.bundles.get(run.spec.bundle);
      if (code === undefined) {
        this.settle(run, { id: run.spec.id, ok: false, error: { name: 'Error', message: `bundle ${run.spec.bundle} was never uploaded to this local grid` } });
        continue;
      }
      this.pool.give(thread, run, code, this.shared);
    }
  }

  private requeue(run: Run): void {
    if (this.runs.get(run.spec.id) !== run) return;
    if ('client' in run.from) this.queue.unshift(run);
    else this.ready.push(run);
  }

  /** A run is no longer wanted: one waiting never starts; one running runs on and its outcome is dropped. */
  private withdraw(id: number): void {
    const run = this.runs.get(id);
    if (!run) return;
    this.runs.delete(id);
    if ('client' in run.from) {
      this.byClientId.delete(run.from.client);
      const i = this.queue.indexOf(run);
      if (i >= 0) this.queue.splice(i, 1);
    } else {
      // Withdrawn subtasks are mostly the newest (siblings of a finished parent): search from the end.
      const i = this.ready.lastIndexOf(run);
      if (i >= 0) this.ready.splice(i, 1);
    }
  }

  /** An outcome goes back where its task came from: to the client, or to the spawning thread. */
  private settle(run: Run, outcome: TaskOutcome): void {
    if (this.runs.get(run.spec.id) !== run) return; // withdrawn
    this.runs.delete(run.spec.id);
    if ('client' in run.from) {
      this.byClientId.delete(run.from.client);
      // A default coordinator's limit, so that a result too large for a grid is found here first.
      this.out.results.push({ ...withinResultLimit(outcome, DEFAULT_LIMITS), id: run.from.client });
      this.scheduleFlush();
      return;
    }
    const { thread, local } = run.from;
    thread.subtasks.delete(local);
    if (!thread.ended) this.pool.post(thread, { t: 'results', results: [{ ...outcome, id: local }] });
  }

  private scheduleFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    setImmediate(() => {
      this.flushQueued = false;
      const { started, results } = this.out;
      if (this.stopped || started.length + results.length === 0) return;
      this.out = { started: [], results: [] };
      this.events.output(started, results);
    });
  }
}
