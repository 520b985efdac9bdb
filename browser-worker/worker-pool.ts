// The Web Workers of a page, one per thread, and what the page has sent
// each: bundles, constants, tasks. The runtime decides which task goes
// where (placement.ts) and keeps the per-task records in each Slot
// (runtime.ts); this module starts, resizes and ends the workers and
// batches what goes to them.
//
// A Web Worker serves one client (one task scope) for its life: a task can
// patch globals and prototypes or start nested workers, and none of that may
// reach another client's tasks. A worker is replaced rather than handed to
// another client. Its script is fetched once and started from a blob: URL,
// so workers can be replaced while the coordinator is unreachable.
import type { FromWebWorker, TaskOutcome, TaskSpec, ToWebWorker } from '../protocol/messages.ts';
import type { Limits } from '../protocol/limits.ts';
import { TRANSFER_MIN_BYTES } from './executor.ts';
import { newSecret } from './identity.ts';
import type { SubtaskId } from './task-origin.ts';

/** One Web Worker and what the page knows of it. */
export interface Slot {
  worker: Worker;
  bundles: Set<string>;
  /** How many of each scope's constants it has been sent. */
  sharedSent: Map<string, number>;
  /** The client it serves for its life, once it has run a task (see `used`). */
  scope?: string;
  /** It has been given a task: it serves `scope` only, until it ends. */
  used: boolean;
  /** Its script has started (it sent its first message). */
  alive: boolean;
  /** It died by itself (its script failed): it takes no task. */
  dead: boolean;
  /** Of its tasks, those it has started, by run id. */
  started: Set<number>;
  /** Tasks given to it and not finished, by run id. */
  tasks: Map<number, TaskSpec>;
  /** Of those, the ones waiting on subtasks: their thread is free. */
  blocked: number;
  /** Timeout timers of its started tasks, by run id. */
  timers: Map<number, number>;
  /** Its subtasks in flight: worker id -> page id. */
  subtasks: Map<number, SubtaskId>;
  /** Outcomes of its subtasks, posted at the end of the turn. */
  inbox: TaskOutcome[];
  /** Tasks to post at the end of this pump. */
  batch: TaskSpec[];
  /** What the page gave it to open its task lane with (see task-lane.ts), once asked to. */
  nonce?: string;
  /** Lane tasks whose outcomes came before the coordinator's word of them (see Runtime.laned). */
  laneAnswered: Set<number>;
  /** Lane tasks it runs whose lane closed before answering: their outcomes go out from the page. */
  laneUnanswered: Set<number>;
}

/** What a worker serving a client needs to open a task lane. */
export interface LaneGrant {
  url: string;
  key: string;
  limits: Limits;
}

export interface PoolEvents {
  report(slot: Slot, msg: FromWebWorker): void;
  /** A worker was ended (retired or replaced): its timers and subtasks go with it. */
  ended(slot: Slot): void;
  /** A worker died by itself, or never started: its tasks are the runtime's
   * to run again or fail; then it calls `replace`. */
  died(slot: Slot): void;
  /** Workers can take tasks now (the script has arrived). */
  ready(): void;
  /** How a worker serving `scope` opens its task lane; undefined when it may not (yet). */
  lane(scope: string): LaneGrant | undefined;
}

export class WorkerPool {
  /** The workers that take tasks: one per thread. */
  slots: Slot[] = [];
  /** Workers retired by a lower thread setting, finishing the tasks they hold. */
  private draining: Slot[] = [];
  /** The worker script as a blob: URL, once fetched. */
  private scriptUrl: string | undefined;
  private threads = 0;
  private stopped = false;
  /** Workers that died before their script ran, in a row: the next waits longer. */
  private failedStarts = 0;
  private readonly respawns = new Set<ReturnType<typeof setTimeout>>();
  /** A worker started ahead for the next replacement (see fresh). */
  private spare: Slot | undefined;
  /** Workers started so far, to name them. */
  private spawned = 0;

  constructor(
    private readonly workerUrl: string,
    private readonly events: PoolEvents,
  ) {}

  /** Fetches the worker script (retrying with backoff), then starts `threads` workers. */
  start(threads: number): void {
    this.threads = threads;
    void this.loadScript(RETRY_MIN_MS);
  }

  private async loadScript(retryMs: number): Promise<void> {
    try {
      const res = await fetch(this.workerUrl);
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const code = await res.blob();
      this.scriptUrl = URL.createObjectURL(new Blob([code], { type: 'text/javascript' }));
    } catch (e) {
      if (this.stopped) return;
      console.error(`ladle: the Web Worker script ${this.workerUrl} could not be fetched (${(e as Error).message}); retrying in ${retryMs} ms`);
      setTimeout(() => void this.loadScript(Math.min(retryMs * 2, RETRY_MAX_MS)), retryMs);
      return;
    }
    if (this.stopped) return;
    this.slots = Array.from({ length: this.threads }, () => this.spawn());
    this.events.ready();
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
    this.threads = threads;
    if (this.scriptUrl === undefined) return;
    while (this.slots.length < threads) this.slots.push(this.draining.pop() ?? this.spawn());
    while (this.slots.length > threads) {
      // Retire the least busy worker.
      let idle = 0;
      for (let i = 1; i < this.slots.length; i++) if (this.slots[i].tasks.size < this.slots[idle].tasks.size) idle = i;
      const [slot] = this.slots.splice(idle, 1);
      if (slot.tasks.size === 0) this.end(slot);
      else {
        this.draining.push(slot);
        // No lone task may reach it over its lane while it finishes.
        if (slot.nonce !== undefined) this.post(slot, { t: 'laneEnd' });
      }
    }
  }

  /** A draining worker that has finished its last task ends. */
  settled(slot: Slot): void {
    if (slot.tasks.size > 0 || !this.draining.includes(slot)) return;
    this.end(slot);
    this.draining = this.draining.filter((s) => s !== slot);
  }

  /** Replaces a worker with a fresh one: the only way to stop a task stuck
   * in a loop, and to rid a thread of what a client's tasks left in it. */
  replace(slot: Slot): Slot | undefined {
    this.end(slot);
    const i = this.slots.indexOf(slot);
    if (i >= 0) return (this.slots[i] = this.fresh());
    this.draining = this.draining.filter((s) => s !== slot);
    return undefined;
  }

  /** A fresh worker: the spare when there is one. Starting a worker takes
   * tens of milliseconds on a quiet machine and far more on a busy one, so
   * once a page has had to replace a worker it keeps one started ahead. */
  private fresh(): Slot {
    const slot = this.spare ?? this.spawn();
    this.spare = this.spawn();
    return slot;
  }

  /** A worker died (see PoolEvents.died) and the runtime has taken its
   * tasks back: one that ran is replaced at once; one that never started
   * is retried after a backoff that grows while starts keep failing. */
  revive(slot: Slot): void {
    if (slot.alive) {
      this.replace(slot);
      return;
    }
    this.end(slot);
    const i = this.slots.indexOf(slot);
    if (i < 0) {
      this.draining = this.draining.filter((s) => s !== slot);
      return;
    }
    const delay = Math.min(RETRY_MIN_MS * 2 ** this.failedStarts++, RETRY_MAX_MS);
    console.error(`ladle: a Web Worker failed to start; retrying in ${delay} ms`);
    const timer = setTimeout(() => {
      this.respawns.delete(timer);
      const at = this.slots.indexOf(slot);
      if (this.stopped || at < 0) return;
      this.slots[at] = this.spawn();
      this.events.ready();
    }, delay);
    this.respawns.add(timer);
  }

  /** The workers serving `scope` (a client that left, say). */
  of(scope: string | undefined): Slot[] {
    return this.all.filter((slot) => slot.used && slot.scope === scope);
  }

  /** After a lost coordinator: fresh workers where any client's task ran,
   * and no draining ones. */
  reset(): void {
    for (const slot of [...this.slots]) if (slot.used) this.replace(slot);
    for (const slot of this.draining) this.end(slot);
    this.draining = [];
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.respawns) clearTimeout(timer);
    for (const slot of this.all) this.end(slot);
    this.spare?.worker.terminate();
    this.spare = undefined;
    this.slots = [];
    this.draining = [];
    if (this.scriptUrl !== undefined) URL.revokeObjectURL(this.scriptUrl);
  }

  /** The least loaded worker under `target` tasks not waiting on subtasks,
   * among the fresh ones and those serving `scope`. Failing that, an idle
   * worker of another client is replaced by a fresh one (its start costs
   * the first task a few milliseconds; a single client never pays it). */
  pick(scope: string | undefined, target: number): Slot | undefined {
    let best: Slot | undefined;
    let bestLoad = Infinity;
    let idle: Slot | undefined;
    for (const slot of this.slots) {
      if (slot.dead) continue;
      if (slot.used && slot.scope !== scope) {
        if (slot.tasks.size === 0) idle ??= slot;
        continue;
      }
      const load = slot.tasks.size - slot.blocked;
      if (load < target && load < bestLoad) {
        best = slot;
        bestLoad = load;
      }
    }
    if (best || !idle) return best;
    return this.replace(idle);
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
    slot.used = true;
    this.openLane(slot);
    slot.tasks.set(task.id, task);
    slot.batch.push(task);
  }

  /** The lane key for `scope` came: its workers open their lanes. */
  openLanes(scope: string): void {
    for (const slot of this.of(scope)) this.openLane(slot);
  }

  /** Posts a worker a message at once. */
  tell(slot: Slot, msg: ToWebWorker): void {
    this.post(slot, msg);
  }

  /** The worker whose lane was opened with `nonce`, while it is this pool's. */
  byNonce(nonce: string): Slot | undefined {
    return this.all.find((slot) => slot.nonce === nonce);
  }

  private openLane(slot: Slot): void {
    if (slot.nonce !== undefined || slot.scope === undefined) return;
    const grant = this.events.lane(slot.scope);
    if (!grant) return;
    slot.nonce = newSecret();
    this.post(slot, { t: 'lane', ...grant, nonce: slot.nonce });
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

  private spawn(): Slot {
    const worker = new Worker(this.scriptUrl!, { type: 'module', name: `ladle-${this.spawned++}` });
    const slot: Slot = {
      worker,
      bundles: new Set(),
      sharedSent: new Map(),
      used: false,
      alive: false,
      dead: false,
      started: new Set(),
      tasks: new Map(),
      blocked: 0,
      timers: new Map(),
      subtasks: new Map(),
      inbox: [],
      batch: [],
      laneAnswered: new Set(),
      laneUnanswered: new Set(),
    };
    worker.onmessage = (e: MessageEvent<FromWebWorker>) => {
      if (!slot.alive) {
        slot.alive = true;
        this.failedStarts = 0;
      }
      this.events.report(slot, e.data);
    };
    worker.onerror = (e) => {
      // An ErrorEvent is an error task code left uncaught (a throwing timer,
      // say): the worker lives on. A bare Event means the worker itself failed.
      if (e instanceof ErrorEvent) {
        console.error('ladle: uncaught in a Web Worker:', e.message);
        return;
      }
      if (slot === this.spare) {
        this.spare = undefined;
        return;
      }
      if (slot.dead || !this.owns(slot)) return;
      slot.dead = true;
      this.events.died(slot);
    };
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

/** Backoff of fetching the worker script and of restarting workers that fail to start. */
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 10_000;
