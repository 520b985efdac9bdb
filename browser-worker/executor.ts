// Runs the tasks of one Web Worker. Tasks are async, so while a task awaits
// its subtasks the worker starts or resumes others (SCOOP does this with
// greenlets): a deep tree of tasks spawning tasks never deadlocks.
//
// At most one task is "busy" at a time: the one started or resumed last,
// until it finishes or waits on subtasks. Subtask results for a task, and its
// timers (see task-timers.ts), are held until no other task is busy, so code
// that runs after an await or in a timer belongs to a known task: subtasks it
// spawns get the right parent, and `shared.get` reads the right constants.
// A call from code that runs in no task's turn is refused, never guessed.
import { packValue, unpack } from '../protocol/codec.ts';
import { ERROR_LIMITS, type RemoteErrorInfo, type TaskOutcome, type TaskSpec } from '../protocol/messages.ts';
import { Future } from '../futures/future.ts';
import { CancelledError, DataCloneError, outcomeError } from '../futures/errors.ts';
import type { ChunkOutcome } from '../futures/chunking.ts';
import { cloneErrorInfo, errorInfo } from './error-info.ts';
import { isThenable, packChunk, runChunk } from './chunk-runner.ts';

export type TaskModule = Record<string, unknown>;
export type AnyFn = (...args: never[]) => unknown;

interface Active {
  spec: TaskSpec;
  startedAt: number;
  /** It returned a promise. */
  awaited?: boolean;
  /** Subtasks spawned and not yet settled, by this worker's subtask id. */
  children: Map<number, Future<unknown>>;
  /** Subtask results, and callbacks of its timers, waiting for this task's turn. */
  inbox: (TaskOutcome | (() => void))[];
}

/** Below this size, copying a buffer through postMessage is cheaper than
 * transferring it (measured in Chromium 156: 2.7 against 5.1 us per task). */
export const TRANSFER_MIN_BYTES = 64 * 1024;

export interface ExecutorOutput {
  started: number[];
  done: TaskOutcome[];
  took: number[];
  awaited: boolean[];
  submit: TaskSpec[];
  cancel: number[];
  transfer: Transferable[];
}

/** Imports a bundle's code (named by its hash) as an ES module. */
export type ImportCode = (code: string, hash: string) => Promise<TaskModule>;


export class Executor {
  private readonly modules = new Map<string, Promise<TaskModule>>();
  /** Modules already imported, so a task can start without a microtask hop. */
  private readonly loaded = new Map<string, TaskModule>();
  /** Every exported function of every loaded bundle, for `submit(fn)`. */
  private readonly exportsOf = new Map<AnyFn, { bundle: string; fn: string }>();
  private readonly shared = new Map<string, Map<string, unknown>>();
  /** Each bundle's blob: URL, and the coordinator's URL of the same bytes
   * that stack traces name instead: the SDK maps those back to source lines. */
  private readonly bundleUrls = new Map<string, string>();
  private readonly queue: TaskSpec[] = [];
  private readonly active = new Map<number, Active>();
  private readonly subtasks = new Map<number, Active>();
  private busy: Active | undefined;
  /** Set while a timer of a finished task runs: its calls belong to nobody. */
  private orphanRunning = false;
  private nextSubtaskId = 1;
  private checkQueued = false;
  private pumping = false;
  private out: ExecutorOutput = { started: [], done: [], took: [], awaited: [], submit: [], cancel: [], transfer: [] };

  constructor(
    /** Runs `fn` on the next turn of the event loop (after all microtasks). */
    private readonly nextTurn: (fn: () => void) => void,
    /** Asks for `take()` to be called at the end of this turn, or at once
     * when `urgent` (the page must know before task code can block). */
    private readonly onOutput: (urgent?: boolean) => void,
    /** A browser imports code from a blob: URL; Node cannot: local mode passes its own. */
    private readonly importCode: ImportCode = (code, hash) => this.importFromBlob(code, hash),
  ) {}

  /** Stack traces will show `named` where they would show `blobUrl`. */
  nameBlob(blobUrl: string, named: string): void {
    this.bundleUrls.set(blobUrl, named);
  }

  private importFromBlob(code: string, hash: string): Promise<TaskModule> {
    const url = URL.createObjectURL(new Blob([code], { type: 'text/javascript' }));
    this.bundleUrls.set(url, `${new URL(url.slice('blob:'.length)).origin}/bundles/${hash}`);
    return import(url) as Promise<TaskModule>;
  }

  loadBundle(hash: string, code: string): void {
    const loading = this.importCode(code, hash).then((mod) => {
      for (const [name, value] of Object.entries(mod)) {
        if (typeof value === 'function' && !this.exportsOf.has(value as AnyFn)) this.exportsOf.set(value as AnyFn, { bundle: hash, fn: name });
      }
      this.loaded.set(hash, mod);
      return mod;
    });
    // The failure is reported by each task that awaits this module.
    loading.catch(() => undefined);
    this.modules.set(hash, loading);
  }

  setShared(scope: string, values: Record<string, Uint8Array>): void {
    let names = this.shared.get(scope);
    if (!names) this.shared.set(scope, (names = new Map<string, unknown>()));
    for (const [name, bytes] of Object.entries(values)) names.set(name, unpack(bytes));
  }

  run(tasks: TaskSpec[]): void {
    for (const t of tasks) this.queue.push(t);
    this.pump();
  }

  /** Results of subtasks, by this worker's subtask ids. */
  deliver(results: TaskOutcome[]): void {
    for (const outcome of results) {
      const owner = this.subtasks.get(outcome.id);
      if (owner) owner.inbox.push(outcome);
    }
    this.pump();
  }

  /** Nothing is queued or running in this turn: no more news will come before the next message or settled promise. */
  get idle(): boolean {
    return this.queue.length === 0 && this.busy === undefined;
  }

  /** Tasks that wait on subtasks, for the page's slot accounting. */
  get blocked(): number {
    let n = 0;
    for (const a of this.active.values()) if (a !== this.busy && a.children.size > 0) n++;
    return n;
  }

  take(): ExecutorOutput {
    const out = this.out;
    this.out = { started: [], done: [], took: [], awaited: [], submit: [], cancel: [], transfer: [] };
    return out;
  }

  // ---- the task-side API (ladle-grid/task) calls these ----

  /** With `chunk`, `args` are the argument lists of several calls (see futures/chunking.ts). */
  submit(fn: unknown, args: unknown[], options: { timeout?: number; attempts?: number; chunk?: boolean } = {}): Future<unknown> {
    const target = typeof fn === 'function' ? this.exportsOf.get(fn as AnyFn) : undefined;
    if (!target) throw new TypeError('submit takes a function exported by a task module (import it, or export it from this one)');
    const owner = this.turn('submit');
    const packed = packValue(args, 'args');
    if (!(packed instanceof Uint8Array)) {
      // Like the SDK's submit: the future fails, nothing is sent.
      const refused = new Future<unknown>();
      refused.setException(new DataCloneError(packed));
      return refused;
    }
    const id = this.nextSubtaskId++;
    const future = new Future<unknown>(() => {
      owner.children.delete(id);
      this.subtasks.delete(id);
      this.out.cancel.push(id);
      this.onOutput();
      return true;
    });
    owner.children.set(id, future);
    this.subtasks.set(id, owner);
    const spec: TaskSpec = { id, bundle: target.bundle, fn: target.fn, args: packed.slice(), parent: owner.spec.id };
    if (options.timeout !== undefined) spec.timeout = options.timeout;
    if (options.attempts !== undefined) spec.attempts = options.attempts;
    if (options.chunk) spec.chunk = true;
    // A subtask needs what its parent needs (a GPU task's subtasks stay on GPU pages).
    if (owner.spec.needs) spec.needs = owner.spec.needs;
    // And is verified as its parent is (its page never lends it to a single peer).
    if (owner.spec.verify !== undefined) spec.verify = owner.spec.verify;
    this.out.submit.push(spec);
    if (spec.args.byteLength >= TRANSFER_MIN_BYTES) this.out.transfer.push(spec.args.buffer);
    this.onOutput();
    // The spawning task may now be waiting: look again once it yields.
    this.queueCheck();
    return future;
  }

  sharedGet(name: string): unknown {
    const scope = this.turn('shared.get').spec.scope;
    const names = scope === undefined ? undefined : this.shared.get(scope);
    if (!names?.has(name)) throw new Error(`no shared constant named "${name}" (set it with grid.shared.set before submitting)`);
    return names.get(name);
  }

  /** Binds a timer callback to the task whose code sets the timer, so that it
   * runs in that task's turn (at once if it is busy, else once no other task
   * is). A timer set outside any task, or whose task has finished, runs as
   * is, and its calls to the task API are refused. */
  bindTimer(callback: () => void): () => void {
    const owner = this.busy && this.active.has(this.busy.spec.id) && !this.orphanRunning ? this.busy : undefined;
    if (!owner) return callback;
    return () => {
      if (!this.active.has(owner.spec.id)) return this.runOrphan(callback);
      if (this.busy === owner) return callback();
      owner.inbox.push(callback);
      this.pump();
    };
  }

  /** The task whose turn it is: the one its calls to the task API are for. */
  private turn(call: string): Active {
    const a = this.busy;
    if (this.orphanRunning) throw new Error(`${call} was called from a timer of a task that has finished`);
    if (!a || !this.active.has(a.spec.id)) throw new Error(`${call} was called outside a running task (from code no task is waiting on, or after its task finished)`);
    return a;
  }

  private runOrphan(callback: () => void): void {
    this.orphanRunning = true;
    try {
      callback();
    } finally {
      this.orphanRunning = false;
    }
  }

  // ---- scheduling inside the worker ----

  private queueCheck(): void {
    if (this.checkQueued) return;
    this.checkQueued = true;
    this.nextTurn(() => {
      this.checkQueued = false;
      this.pump();
    });
  }

  /** Releases the busy task once it waits on subtasks or is done, then
   * resumes a task whose subtask results came in, or starts new ones
   * (synchronous tasks run back to back in one turn). */
  private pump(): void {
    if (this.pumping) return; // a task finishing inside the loop below
    this.pumping = true;
    try {
      for (;;) {
        if (this.busy && this.active.has(this.busy.spec.id) && this.busy.children.size === 0) return;
        this.busy = undefined;
        const ready = this.readyToResume();
        if (ready) {
          this.resume(ready);
          this.queueCheck();
          return;
        }
        const spec = this.queue.shift();
        if (!spec) return;
        this.start(spec);
      }
    } finally {
      this.pumping = false;
      // Whether a task just began waiting on subtasks changes the page's
      // free slots: let the report carry the new count.
      this.onOutput();
    }
  }

  private readyToResume(): Active | undefined {
    for (const a of this.active.values()) if (a.inbox.length > 0) return a;
    return undefined;
  }

  private resume(a: Active): void {
    this.busy = a;
    for (const outcome of a.inbox.splice(0)) {
      if (typeof outcome === 'function') {
        // A timer's callback: what it throws is left uncaught, as it would be in the timer.
        try {
          outcome();
        } catch (e) {
          queueMicrotask(() => {
            throw e;
          });
        }
        continue;
      }
      const future = a.children.get(outcome.id);
      if (!future) continue;
      a.children.delete(outcome.id);
      this.subtasks.delete(outcome.id);
      if (outcome.ok) {
        try {
          future.setResult(unpack(outcome.value));
        } catch (e) {
          future.setException(e);
        }
      } else {
        future.setException(outcomeError(outcome));
      }
    }
  }

  private start(spec: TaskSpec): void {
    const a: Active = { spec, startedAt: performance.now(), children: new Map(), inbox: [] };
    this.active.set(spec.id, a);
    this.busy = a;
    this.out.started.push(spec.id);
    // A task with a timeout may never yield (an endless loop): the page
    // starts its clock from this report, so it must leave now.
    this.onOutput(spec.timeout !== undefined);
    const mod = this.loaded.get(spec.bundle);
    if (mod) {
      this.call(a, mod);
      return;
    }
    const loading = this.modules.get(spec.bundle);
    if (!loading) {
      this.finish(a, { ok: false, error: errorInfo(new Error(`bundle ${spec.bundle} was not loaded in this worker`)) });
      return;
    }
    loading.then(
      (m) => {
        this.busy = a;
        this.call(a, m);
      },
      (e) => this.finish(a, { ok: false, error: errorInfo(e) }),
    );
  }

  private call(a: Active, mod: TaskModule): void {
    let value: unknown;
    try {
      const fn = mod[a.spec.fn];
      if (typeof fn !== 'function') throw new TypeError(`the task module has no exported function named "${a.spec.fn}"`);
      const f = fn as (...args: unknown[]) => unknown;
      value = a.spec.chunk ? runChunk(f, unpack(a.spec.args)) : f(...(unpack(a.spec.args) as unknown[]));
    } catch (e) {
      this.finish(a, { ok: false, error: errorInfo(e) });
      return;
    }
    if (isThenable(value)) {
      a.awaited = true;
      value.then(
        (v) => this.succeed(a, v),
        (e) => this.finish(a, { ok: false, error: errorInfo(e) }),
      );
    } else {
      this.succeed(a, value);
    }
  }

  private succeed(a: Active, value: unknown): void {
    // A chunk's calls fail inside its value: their stacks name the bundle as a task's do.
    if (a.spec.chunk) for (const o of value as ChunkOutcome[]) if (o[0] === 0 && o[1].stack !== undefined) o[1].stack = this.namedBundles(o[1].stack);
    const packed = a.spec.chunk ? packChunk(value as ChunkOutcome[]) : packValue(value, 'result');
    if (!(packed instanceof Uint8Array)) {
      this.finish(a, { ok: false, error: cloneErrorInfo(packed) });
      return;
    }
    // packValue() returns a view into a shared buffer: copy so only these bytes move.
    const bytes = packed.slice();
    if (bytes.byteLength >= TRANSFER_MIN_BYTES) this.out.transfer.push(bytes.buffer);
    this.finish(a, { ok: true, value: bytes });
  }

  private finish(a: Active, outcome: { ok: true; value: Uint8Array } | { ok: false; error: RemoteErrorInfo }): void {
    this.active.delete(a.spec.id);
    // Subtasks nobody can await any more are withdrawn.
    for (const [id, future] of a.children) {
      this.subtasks.delete(id);
      this.out.cancel.push(id);
      future.setException(new CancelledError('the task that spawned this subtask has finished'));
    }
    a.children.clear();
    // Its timers that fired meanwhile still run, as timers of a finished task.
    for (const w of a.inbox) if (typeof w === 'function') queueMicrotask(() => this.runOrphan(w));
    if (!outcome.ok && outcome.error.stack !== undefined) outcome.error.stack = this.namedBundles(outcome.error.stack);
    this.out.done.push({ id: a.spec.id, ...outcome });
    this.out.took.push(performance.now() - a.startedAt);
    this.out.awaited.push(a.awaited === true);
    this.onOutput();
    if (this.busy === a) this.busy = undefined;
    this.pump();
  }

  private namedBundles(stack: string): string {
    for (const [blob, named] of this.bundleUrls) if (stack.includes(blob)) stack = stack.split(blob).join(named);
    return stack.slice(0, ERROR_LIMITS.stack);
  }
}
