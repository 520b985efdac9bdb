// The Web Workers of a page, one per thread, and what the page has sent
// each: bundles, constants, tasks. The runtime (runtime.ts) decides which
// task goes where and keeps the per-task records in each Slot; this module
// starts, resizes and ends the workers and batches what goes to them.
import type { FromWebWorker, TaskOutcome, TaskSpec, ToWebWorker } from '../protocol/messages.ts';
import { TRANSFER_MIN_BYTES } from './executor.ts';

/** One Web Worker and what the page knows of it. */
export interface Slot {
  worker: Worker;
  bundles: Set<string>;
  /** How many of each scope's constants it has been sent. */
  sharedSent: Map<string, number>;
  /** The client whose tasks it runs now: `shared.get` in a worker is unambiguous. */
  scope?: string;
  /** Tasks given to it and not finished, by run id. */
  tasks: Map<number, TaskSpec>;
  /** Of those, the ones waiting on subtasks: their thread is free. */
  blocked: number;
  /** Timeout timers of its started tasks, by run id. */
  timers: Map<number, number>;
  /** Its subtasks in flight: worker id -> page id. */
  subtasks: Map<number, number>;
  /** Outcomes of its subtasks, posted at the end of the turn. */
  inbox: TaskOutcome[];
  /** Tasks to post at the end of this pump. */
  batch: TaskSpec[];
}

export interface PoolEvents {
  report(slot: Slot, msg: FromWebWorker): void;
  /** A worker was ended (retired or replaced): its timers and subtasks go with it. */
  ended(slot: Slot): void;
}

export class WorkerPool {
  /** The workers that take tasks: one per thread. */
  slots: Slot[] = [];
  /** Workers retired by a lower thread setting, finishing the tasks they hold. */
  private draining: Slot[] = [];

  constructor(
    private readonly workerUrl: string,
    private readonly events: PoolEvents,
  ) {}

  start(threads: number): void {
    this.slots = Array.from({ length: threads }, (_, i) => this.spawn(i));
  }

  /** Every live worker, taking tasks or draining. */
  get all(): Slot[] {
    return [...this.slots, ...this.draining];
  }

  /** A worker of this pool, active or draining (not one replaced or retired). */
  owns(slot: Slot): boolean {
    return this.slots.includes(slot) || this.draining.includes(slot);
  }

  get running(): number {
    let n = 0;
    for (const slot of this.all) n += slot.tasks.size;
    return n;
  }

  get blocked(): number {
    let n = 0;
    for (const slot of this.all) n += slot.blocked;
    return n;
  }

  /** New workers start at once; a retired one takes no new task and ends
   * when the tasks it holds are done (so nothing is lost or run twice). */
  resize(threads: number): void {
    while (this.slots.length < threads) this.slots.push(this.draining.pop() ?? this.spawn(this.slots.length));
    while (this.slots.length > threads) {
      // Retire the least busy worker.
      let idle = 0;
      for (let i = 1; i < this.slots.length; i++) if (this.slots[i].tasks.size < this.slots[idle].tasks.size) idle = i;
      const [slot] = this.slots.splice(idle, 1);
      if (slot.tasks.size === 0) this.end(slot);
      else this.draining.push(slot);
    }
  }

  /** A draining worker that has finished its last task ends. */
  settled(slot: Slot): void {
    if (slot.tasks.size > 0 || !this.draining.includes(slot)) return;
    this.end(slot);
    this.draining = this.draining.filter((s) => s !== slot);
  }

  /** Replaces a worker: the only way to stop a task stuck in a loop. */
  replace(slot: Slot): void {
    this.end(slot);
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots[i] = this.spawn(i);
    else this.draining = this.draining.filter((s) => s !== slot);
  }

  /** After a lost coordinator: fresh workers where any task or constant was,
   * and no draining ones. */
  reset(): void {
    for (const slot of [...this.slots]) if (slot.tasks.size > 0 || slot.sharedSent.size > 0) this.replace(slot);
    for (const slot of this.draining) this.end(slot);
    this.draining = [];
  }

  stop(): void {
    for (const slot of this.all) this.end(slot);
    this.slots = [];
    this.draining = [];
  }

  /** The least loaded worker under `target` tasks not waiting on subtasks,
   * among those free of another client's tasks. */
  pick(scope: string | undefined, target: number): Slot | undefined {
    let best: Slot | undefined;
    let bestLoad = Infinity;
    for (const slot of this.slots) {
      if (slot.scope !== undefined && slot.scope !== scope) continue;
      const load = slot.tasks.size - slot.blocked;
      if (load < target && load < bestLoad) {
        best = slot;
        bestLoad = load;
      }
    }
    return best;
  }

  /** Queues a task for a worker, with its bundle and the constants of its
   * scope that the worker lacks (sent ahead of it). */
  give(slot: Slot, task: TaskSpec, code: string, constants: ReadonlyMap<string, Uint8Array> | undefined): void {
    if (!slot.bundles.has(task.bundle)) {
      slot.bundles.add(task.bundle);
      this.post(slot, { t: 'bundle', hash: task.bundle, code });
    }
    const scope = task.scope;
    if (scope !== undefined && constants) {
      const from = slot.sharedSent.get(scope) ?? 0;
      if (from < constants.size) {
        const values: Record<string, Uint8Array> = {};
        let i = 0;
        for (const [name, value] of constants) if (i++ >= from) values[name] = value;
        slot.sharedSent.set(scope, constants.size);
        this.post(slot, { t: 'shared', scope, values });
      }
    }
    slot.scope = scope;
    slot.tasks.set(task.id, task);
    slot.batch.push(task);
  }

  /** A client left: workers drop its constants. */
  unshare(scope: string): void {
    for (const slot of this.all) if (slot.sharedSent.delete(scope)) this.post(slot, { t: 'unshare', scope });
  }

  /** Posts the tasks queued for each worker, one message each. */
  sendBatches(): void {
    for (const slot of this.slots) {
      if (slot.batch.length === 0) continue;
      // The args are views into a whole received frame: copy each so only its bytes move.
      const tasks = slot.batch.map((t) => ({ ...t, args: t.args.slice() }));
      slot.batch = [];
      this.post(
        slot,
        { t: 'run', tasks },
        tasks.filter((t) => t.args.byteLength >= TRANSFER_MIN_BYTES).map((t) => t.args.buffer),
      );
    }
  }

  /** Posts the subtask outcomes gathered for each worker. */
  sendInboxes(): void {
    for (const slot of this.all) {
      if (slot.inbox.length === 0) continue;
      this.post(slot, { t: 'results', results: slot.inbox });
      slot.inbox = [];
    }
  }

  private spawn(index: number): Slot {
    const worker = new Worker(this.workerUrl, { type: 'module', name: `ladle-${index}` });
    const slot: Slot = {
      worker,
      bundles: new Set(),
      sharedSent: new Map(),
      tasks: new Map(),
      blocked: 0,
      timers: new Map(),
      subtasks: new Map(),
      inbox: [],
      batch: [],
    };
    worker.onmessage = (e: MessageEvent<FromWebWorker>) => this.events.report(slot, e.data);
    worker.onerror = (e) => console.error('ladle: a Web Worker failed:', e.message);
    return slot;
  }

  private end(slot: Slot): void {
    slot.worker.terminate();
    this.events.ended(slot);
  }

  private post(slot: Slot, msg: ToWebWorker, transfer: Transferable[] = []): void {
    slot.worker.postMessage(msg, transfer);
  }
}
