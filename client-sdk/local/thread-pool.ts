// The worker threads of a local grid, one per thread, and what each has been
// sent: bundles, constants, tasks. The engine (engine.ts) decides what runs
// where; this module starts, replaces and ends the threads.
import { Worker } from 'node:worker_threads';
import type { FromWebWorker, TaskSpec, ToWebWorker } from '../../protocol/messages.ts';
import type { Run } from './engine.ts';

/** One worker thread and what the engine knows of it. */
export interface Thread {
  worker: Worker;
  bundles: Set<string>;
  /** How many of the shared constants it has been sent. */
  sharedSent: number;
  /** Runs given to it and not finished, by run id. */
  runs: Map<number, Run>;
  /** Of those, the ones waiting on subtasks: the thread is free for others. */
  blocked: number;
  /** Timeout timers of its started runs, by run id. */
  timers: Map<number, ReturnType<typeof setTimeout>>;
  /** Subtasks its tasks spawned and that are not settled: thread's id -> run id. */
  subtasks: Map<number, number>;
  /** It has said it is up (its first report). */
  up: boolean;
  /** Settles when it is up, or rejects when it exits before. */
  started: Promise<void>;
  /** Ended by the pool (replaced or closed), as opposed to dying on its own. */
  ended: boolean;
}

export interface ThreadEvents {
  report(thread: Thread, msg: FromWebWorker): void;
  /** The thread exited on its own (task code called process.exit, or it crashed). */
  died(thread: Thread, reason: string): void;
}

export class ThreadPool {
  threads: Thread[] = [];

  constructor(
    private readonly script: URL,
    private readonly events: ThreadEvents,
  ) {}

  /** Starts the threads; rejects if one exits before it is up (its script cannot run here). */
  async start(count: number): Promise<void> {
    this.threads = Array.from({ length: count }, () => this.spawn());
    await Promise.all(this.threads.map((t) => t.started));
  }

  /** The least loaded thread running no task that is not waiting on subtasks. */
  free(): Thread | undefined {
    let best: Thread | undefined;
    for (const t of this.threads) {
      if (t.runs.size - t.blocked >= 1) continue;
      if (!best || t.runs.size < best.runs.size) best = t;
    }
    return best;
  }

  /** Sends a task to a thread, with its bundle and the constants it lacks ahead of it. */
  give(thread: Thread, run: Run, code: string, constants: ReadonlyMap<string, Uint8Array>): void {
    if (!thread.bundles.has(run.spec.bundle)) {
      thread.bundles.add(run.spec.bundle);
      this.post(thread, { t: 'bundle', hash: run.spec.bundle, code });
    }
    if (thread.sharedSent < constants.size) {
      const values: Record<string, Uint8Array> = {};
      let i = 0;
      for (const [name, value] of constants) if (i++ >= thread.sharedSent) values[name] = value;
      thread.sharedSent = constants.size;
      this.post(thread, { t: 'shared', scope: run.spec.scope!, values });
    }
    thread.runs.set(run.spec.id, run);
    // The args may be a view into the SDK's packing buffer, and postMessage
    // copies a view's whole buffer: copy out just these bytes.
    const spec: TaskSpec = { ...run.spec, args: run.spec.args.slice() };
    this.post(thread, { t: 'run', tasks: [spec] });
  }

  post(thread: Thread, msg: ToWebWorker): void {
    thread.worker.postMessage(msg);
  }

  /** Replaces a thread: the only way to stop a task stuck in a loop. */
  replace(thread: Thread): Thread {
    void this.end(thread);
    const fresh = this.spawn();
    const i = this.threads.indexOf(thread);
    if (i >= 0) this.threads[i] = fresh;
    return fresh;
  }

  /** Drops a thread that died, with no replacement. */
  remove(thread: Thread): void {
    void this.end(thread);
    this.threads = this.threads.filter((t) => t !== thread);
  }

  async stop(): Promise<void> {
    const threads = this.threads;
    this.threads = [];
    await Promise.all(threads.map((t) => this.end(t)));
  }

  private async end(thread: Thread): Promise<void> {
    thread.ended = true;
    for (const timer of thread.timers.values()) clearTimeout(timer);
    thread.timers.clear();
    await thread.worker.terminate();
  }

  private spawn(): Thread {
    const worker = new Worker(this.script, { name: 'ladle-local' });
    let up = () => {};
    let failed: (e: Error) => void = () => {};
    const started = new Promise<void>((resolve, reject) => {
      up = resolve;
      failed = reject;
    });
    started.catch(() => undefined); // awaited by start() only
    const thread: Thread = { worker, bundles: new Set(), sharedSent: 0, runs: new Map(), blocked: 0, timers: new Map(), subtasks: new Map(), up: false, started, ended: false };
    let error = '';
    worker.on('message', (msg: FromWebWorker) => {
      if (!thread.up) {
        thread.up = true;
        up();
      }
      if (!thread.ended) this.events.report(thread, msg);
    });
    worker.on('error', (e) => (error = `: ${e.message}`));
    worker.on('exit', (code) => {
      const reason = `its worker thread exited with code ${code}${error}`;
      failed(new Error(reason));
      if (thread.ended) return;
      thread.ended = true;
      this.events.died(thread, reason);
    });
    return thread;
  }
}
