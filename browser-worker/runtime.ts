// The volunteer runtime of a page: one WebSocket to the coordinator, a pool
// of Web Workers, and a local queue between them. The coordinator decides
// what this page runs; the page only executes, enforces task timeouts, and
// reports back in batches.
import {
  PROTOCOL_VERSION,
  WS_PATH,
  decodeFrame,
  encodeFrame,
  parseToPage,
  type FromWebWorker,
  type PageReport,
  type TaskOutcome,
  type TaskSpec,
  type ToPage,
  type ToWebWorker,
} from '../protocol/messages.ts';
import { bundleCounters, loadBundle, type BundleCacheCounters } from './bundle-cache.ts';
import { nextTurn } from './next-turn.ts';
import { Clock } from './clock.ts';
import { TRANSFER_MIN_BYTES, errorInfo } from './executor.ts';

export type RuntimeState = 'connecting' | 'connected' | 'disconnected';

export interface RuntimeStatus {
  state: RuntimeState;
  /** Web Workers wanted (the thread setting). */
  threads: number;
  /** Web Workers alive: more than `threads` for a moment while retired ones finish their tasks. */
  workers: number;
  /** Paused by the volunteer: no new tasks come here; started ones finish. */
  paused: boolean;
  tasksDone: number;
  tasksFailed: number;
  running: number;
  queued: number;
  workerId?: string;
}

export interface RuntimeOptions {
  /** Web Workers to start with (see setThreads). */
  threads: number;
  /** Start paused (see setPaused). */
  paused?: boolean;
  /** ws:// or wss:// URL of the coordinator; defaults to this page's origin. */
  url?: string;
  /** URL of the Web Worker script. */
  workerUrl?: string;
  onStatus?: (status: RuntimeStatus) => void;
}

/** One Web Worker and what the page knows of it. */
interface Slot {
  worker: Worker;
  bundles: Set<string>;
  /** How many of each scope's constants it has been sent. */
  sharedSent: Map<string, number>;
  /** The client whose tasks it runs now: `shared.get` in a worker is unambiguous. */
  scope?: string;
  /** Tasks given to it and not finished, by grid id. */
  tasks: Map<number, TaskSpec>;
  blocked: number;
  timers: Map<number, number>;
  /** Its subtasks in flight: worker id -> page id. */
  subtasks: Map<number, number>;
  /** Tasks to post at the end of this pump. */
  batch: TaskSpec[];
  /** When each started task started, for timeouts and the duration estimate. */
  startedAt: Map<number, number>;
}

export class Runtime {
  private ws?: WebSocket;
  private slots: Slot[] = [];
  /** Web Workers retired by a lower thread setting, finishing the tasks they hold. */
  private draining: Slot[] = [];
  private threads: number;
  private paused: boolean;
  private queue: TaskSpec[] = [];
  private readonly code = new Map<string, string>();
  private readonly loading = new Set<string>();
  private readonly shared = new Map<string, Map<string, Uint8Array>>();
  /** Subtasks this page submitted: page id -> the worker and its id for it. */
  private readonly routes = new Map<number, { slot: Slot; local: number }>();
  private nextSubtaskId = 1;
  /** Moving average of each task function's duration here: decides how many
   * of its tasks a worker may hold (several when tiny, so they travel in
   * batches; one when long, so none waits behind another). */
  private readonly taskMs = new Map<string, number>();
  private out = emptyReport();
  private flushQueued = false;
  private emitTimer: ReturnType<typeof setTimeout> | undefined;
  private retryMs = 500;
  private stopped = false;
  /** Timers in a Web Worker: background tabs throttle the page's own timers
   * to one a minute, which would stall timeouts, heartbeats and reconnects. */
  private readonly clock = new Clock();
  private watchdog: number | undefined;
  private lastFrameAt = 0;
  readonly status: RuntimeStatus;

  constructor(private readonly options: RuntimeOptions) {
    this.threads = clampThreads(options.threads);
    this.paused = options.paused ?? false;
    this.status = { state: 'connecting', threads: this.threads, workers: 0, paused: this.paused, tasksDone: 0, tasksFailed: 0, running: 0, queued: 0 };
  }

  /** How bundles reached this page: fetched over HTTP or read from IndexedDB. */
  get bundles(): BundleCacheCounters {
    return { ...bundleCounters };
  }

  start(): void {
    this.slots = Array.from({ length: this.threads }, (_, i) => this.spawn(i));
    this.connect();
  }

  /** Sets how many Web Workers run tasks, and tells the coordinator. New
   * workers start at once; a retired worker takes no new task and ends when
   * the tasks it holds are done (so nothing is lost or run twice). */
  setThreads(n: number): void {
    const threads = clampThreads(n);
    if (threads === this.threads) return;
    this.threads = threads;
    this.status.threads = threads;
    if (!this.stopped && (this.slots.length > 0 || this.draining.length > 0)) {
      while (this.slots.length < threads) this.slots.push(this.draining.pop() ?? this.spawn(this.slots.length));
      while (this.slots.length > threads) {
        // Retire the least busy worker.
        let idle = 0;
        for (let i = 1; i < this.slots.length; i++) if (this.slots[i].tasks.size < this.slots[idle].tasks.size) idle = i;
        const [slot] = this.slots.splice(idle, 1);
        if (slot.tasks.size === 0) this.retire(slot);
        else this.draining.push(slot);
      }
      this.pump();
    }
    this.sendCapacity();
    this.emit(true);
  }

  /** Pauses or resumes this page. Paused, it starts no queued task, the
   * coordinator sends it none and takes back those it holds unstarted (they
   * run elsewhere); tasks already running finish. */
  setPaused(paused: boolean): void {
    if (paused === this.paused) return;
    this.paused = paused;
    this.status.paused = paused;
    this.sendCapacity();
    this.pump();
    this.emit(true);
  }

  private sendCapacity(): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.send({ t: 'capacity', threads: this.threads, paused: this.paused });
  }

  /** A Web Worker of this page, active or draining (not one replaced or retired). */
  private owns(slot: Slot): boolean {
    return this.slots.includes(slot) || this.draining.includes(slot);
  }

  stop(): void {
    this.stopped = true;
    this.clock.stop();
    this.ws?.close(1000, 'page closed the runtime');
    for (const slot of [...this.slots, ...this.draining]) this.retire(slot);
    this.slots = [];
    this.draining = [];
  }

  private get url(): string {
    if (this.options.url) return this.options.url;
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${proto}//${location.host}${WS_PATH}`;
  }

  /** Status goes out at most every 200 ms: a DOM update per task would cost more than the task. */
  private emit(now = false): void {
    if (this.emitTimer !== undefined && !now) return;
    const fire = () => {
      this.emitTimer = undefined;
      let running = 0;
      for (const s of this.slots) running += s.tasks.size;
      for (const s of this.draining) running += s.tasks.size;
      this.status.running = running;
      this.status.workers = this.slots.length + this.draining.length;
      this.status.queued = this.queue.length;
      this.options.onStatus?.({ ...this.status });
    };
    if (now) {
      clearTimeout(this.emitTimer);
      fire();
    } else {
      this.emitTimer = setTimeout(fire, 200);
    }
  }

  // ---- Web Workers ----

  private spawn(index: number): Slot {
    const worker = new Worker(this.options.workerUrl ?? '/worker.js', { type: 'module', name: `ladle-${index}` });
    const slot: Slot = { worker, bundles: new Set(), sharedSent: new Map(), tasks: new Map(), blocked: 0, timers: new Map(), subtasks: new Map(), batch: [], startedAt: new Map() };
    worker.onmessage = (e: MessageEvent<FromWebWorker>) => this.onWorkerReport(slot, e.data);
    worker.onerror = (e) => console.error('ladle: a Web Worker failed:', e.message);
    return slot;
  }

  private retire(slot: Slot): void {
    slot.worker.terminate();
    for (const t of slot.timers.values()) this.clock.clearTimeout(t);
    for (const pageId of slot.subtasks.values()) this.routes.delete(pageId);
  }

  /** Replaces a Web Worker: the only way to stop a task stuck in a loop. */
  private replace(slot: Slot): void {
    this.retire(slot);
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots[i] = this.spawn(i);
    else this.draining = this.draining.filter((s) => s !== slot);
  }

  private post(slot: Slot, msg: ToWebWorker, transfer: Transferable[] = []): void {
    slot.worker.postMessage(msg, transfer);
  }

  private onWorkerReport(slot: Slot, msg: FromWebWorker): void {
    if (!this.owns(slot)) return; // a replaced worker's last words
    const now = performance.now();
    for (const id of msg.started) {
      this.out.started.push(id);
      slot.startedAt.set(id, now);
      const timeout = slot.tasks.get(id)?.timeout;
      if (timeout !== undefined) slot.timers.set(id, this.clock.setTimeout(() => this.timedOut(slot, id), timeout));
    }
    for (const spec of msg.submit) {
      const pageId = this.nextSubtaskId++;
      this.routes.set(pageId, { slot, local: spec.id });
      slot.subtasks.set(spec.id, pageId);
      spec.id = pageId;
      this.out.submit.push(spec);
    }
    for (const local of msg.cancel) {
      const pageId = slot.subtasks.get(local);
      if (pageId === undefined) continue;
      slot.subtasks.delete(local);
      this.routes.delete(pageId);
      this.out.cancel.push(pageId);
    }
    for (const outcome of msg.done) {
      const task = slot.tasks.get(outcome.id);
      if (!task) continue;
      slot.tasks.delete(outcome.id);
      const started = slot.startedAt.get(outcome.id);
      slot.startedAt.delete(outcome.id);
      if (started !== undefined) {
        const key = `${task.bundle}:${task.fn}`;
        const avg = this.taskMs.get(key) ?? PESSIMISTIC_MS;
        this.taskMs.set(key, avg + 0.1 * (now - started - avg));
      }
      const timer = slot.timers.get(outcome.id);
      if (timer !== undefined) this.clock.clearTimeout(timer);
      slot.timers.delete(outcome.id);
      this.out.results.push(outcome);
      if (outcome.ok) this.status.tasksDone++;
      else this.status.tasksFailed++;
    }
    slot.blocked = msg.blocked;
    if (slot.tasks.size === 0) slot.scope = undefined;
    if (slot.tasks.size === 0 && this.draining.includes(slot)) {
      // A retired worker that finished its last task ends here.
      this.retire(slot);
      this.draining = this.draining.filter((s) => s !== slot);
    }
    this.pump();
    this.scheduleFlush();
    this.emit();
  }

  private timedOut(slot: Slot, id: number): void {
    const task = slot.tasks.get(id);
    if (!task || !this.owns(slot)) return;
    this.out.results.push({
      id,
      ok: false,
      kind: 'timeout',
      error: {
        name: 'TimeoutError',
        message: `task ${task.fn} ran past its timeout of ${task.timeout} ms; its Web Worker was stopped and replaced`,
      },
    });
    this.status.tasksFailed++;
    slot.tasks.delete(id);
    // Everything else in that worker dies with it: hand it back to run again.
    for (const other of slot.tasks.keys()) this.out.lost.push(other);
    for (const pageId of slot.subtasks.values()) this.out.cancel.push(pageId);
    this.replace(slot);
    this.pump();
    this.scheduleFlush();
    this.emit();
  }

  // ---- the coordinator ----

  private connect(): void {
    this.status.state = 'connecting';
    this.emit(true);
    const ws = new WebSocket(this.url);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onopen = () => {
      this.retryMs = 500;
      // A private grid's join URL carries its join token.
      const joinToken = new URLSearchParams(location.search).get('join') ?? undefined;
      this.send({ t: 'hello', role: 'worker', threads: this.threads, userAgent: navigator.userAgent, version: PROTOCOL_VERSION, joinToken });
      if (this.paused) this.sendCapacity();
    };
    ws.onmessage = (e: MessageEvent<ArrayBuffer>) => {
      this.lastFrameAt = performance.now();
      this.onFrame(decodeFrame(new Uint8Array(e.data), parseToPage));
    };
    this.lastFrameAt = performance.now();
    this.watch(ws);
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      if (this.watchdog !== undefined) this.clock.clearTimeout(this.watchdog);
      this.status.state = 'disconnected';
      this.status.workerId = undefined;
      // The coordinator requeues whatever this page held: start clean.
      this.queue = [];
      this.out = emptyReport();
      this.shared.clear();
      for (const slot of [...this.slots]) if (slot.tasks.size > 0 || slot.sharedSent.size > 0) this.replace(slot);
      for (const slot of this.draining) this.retire(slot);
      this.draining = [];
      this.emit(true);
      if (e.code === 1008) console.error(`ladle: the coordinator refused this page: ${e.reason}`);
      if (this.stopped) return;
      this.clock.setTimeout(() => this.connect(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, 10_000);
    };
  }

  /** The coordinator pings every few seconds: silence this long means the
   * connection is dead even if the browser has not noticed. Checked now and
   * then rather than re-armed per frame, which would cost two messages to
   * the clock worker on every frame. */
  private watch(ws: WebSocket): void {
    this.watchdog = this.clock.setTimeout(() => {
      if (this.ws !== ws) return;
      if (performance.now() - this.lastFrameAt > COORDINATOR_SILENCE_MS) ws.close(4000, 'no word from the coordinator');
      else this.watch(ws);
    }, COORDINATOR_SILENCE_MS / 4);
  }

  private send(msg: Parameters<typeof encodeFrame>[0]): void {
    this.ws?.send(encodeFrame(msg));
  }

  private onFrame(msg: ToPage): void {
    switch (msg.t) {
      case 'welcome':
        this.status.state = 'connected';
        this.status.workerId = msg.workerId;
        this.emit(true);
        break;
      case 'tasks':
        for (const t of msg.tasks) this.queue.push(t);
        this.pump();
        break;
      case 'cancel': {
        // Tasks not handed to a worker yet are dropped; the coordinator
        // ignores the result of one that already started.
        const drop = new Set(msg.ids);
        this.queue = this.queue.filter((t) => !drop.has(t.id));
        break;
      }
      case 'results':
        this.routeResults(msg.results);
        break;
      case 'shared': {
        let names = this.shared.get(msg.scope);
        if (!names) this.shared.set(msg.scope, (names = new Map()));
        for (const [name, value] of Object.entries(msg.values)) names.set(name, value);
        break;
      }
      case 'unshare':
        this.shared.delete(msg.scope);
        break;
      case 'ping':
        this.send({ t: 'pong' });
        return;
    }
    this.emit();
  }

  private routeResults(results: TaskOutcome[]): void {
    const perSlot = new Map<Slot, TaskOutcome[]>();
    for (const outcome of results) {
      const route = this.routes.get(outcome.id);
      if (!route) continue;
      this.routes.delete(outcome.id);
      route.slot.subtasks.delete(route.local);
      let list = perSlot.get(route.slot);
      if (!list) perSlot.set(route.slot, (list = []));
      list.push({ ...outcome, id: route.local });
    }
    for (const [slot, list] of perSlot) {
      if (this.owns(slot)) this.post(slot, { t: 'results', results: list });
    }
  }

  // ---- handing tasks to Web Workers ----

  /** Gives queued tasks to workers: a worker takes more while its tasks that
   * are not waiting on subtasks are under a target: one, or for tiny tasks a
   * share of the queue, so that they travel in batches. */
  private pump(): void {
    if (this.queue.length === 0 || this.paused) return;
    const batch = Math.max(1, Math.min(64, Math.ceil(this.queue.length / this.slots.length)));
    const waiting: TaskSpec[] = [];
    for (const task of this.queue) {
      const code = this.code.get(task.bundle);
      const tiny = (this.taskMs.get(`${task.bundle}:${task.fn}`) ?? PESSIMISTIC_MS) < 2;
      const slot = code === undefined ? undefined : this.pickSlot(task.scope, tiny ? batch : 1);
      if (!slot) {
        if (code === undefined) this.fetchBundle(task.bundle);
        waiting.push(task);
        continue;
      }
      this.give(slot, task, code!);
    }
    this.queue = waiting;
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

  private pickSlot(scope: string | undefined, target: number): Slot | undefined {
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

  private give(slot: Slot, task: TaskSpec, code: string): void {
    if (!slot.bundles.has(task.bundle)) {
      slot.bundles.add(task.bundle);
      this.post(slot, { t: 'bundle', hash: task.bundle, code });
    }
    const scope = task.scope;
    if (scope !== undefined) {
      const names = this.shared.get(scope);
      if (names && (slot.sharedSent.get(scope) ?? 0) < names.size) {
        const values: Record<string, Uint8Array> = {};
        let i = 0;
        const from = slot.sharedSent.get(scope) ?? 0;
        for (const [name, value] of names) if (i++ >= from) values[name] = value;
        slot.sharedSent.set(scope, names.size);
        this.post(slot, { t: 'shared', scope, values });
      }
    }
    slot.scope = scope;
    slot.tasks.set(task.id, task);
    slot.batch.push(task);
  }

  private fetchBundle(hash: string): void {
    if (this.loading.has(hash)) return;
    this.loading.add(hash);
    loadBundle(hash).then(
      (code) => {
        this.loading.delete(hash);
        this.code.set(hash, code);
        this.pump();
      },
      (e: Error) => {
        this.loading.delete(hash);
        // Without its code no task of this bundle can run here.
        const failed = this.queue.filter((t) => t.bundle === hash);
        this.queue = this.queue.filter((t) => t.bundle !== hash);
        for (const t of failed) {
          this.out.started.push(t.id);
          this.out.results.push({ id: t.id, ok: false, error: errorInfo(e) });
          this.status.tasksFailed++;
        }
        this.scheduleFlush();
      },
    );
  }

  /** Reports go out once per turn, batching whatever happened together. */
  private scheduleFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    nextTurn(() => {
      this.flushQueued = false;
      const out = this.out;
      let blocked = 0;
      for (const s of this.slots) blocked += s.blocked;
      for (const s of this.draining) blocked += s.blocked;
      if (isEmpty(out) && blocked === this.lastBlocked) return;
      this.lastBlocked = blocked;
      this.out = emptyReport();
      this.send({ ...out, blocked });
    });
  }
  private lastBlocked = 0;
}

/** A WebSocket that has carried nothing this long (pings come every 5 s) is dead. */
const COORDINATOR_SILENCE_MS = 30_000;

/** Until a function has been timed here, assume its tasks are long. */
const PESSIMISTIC_MS = 1000;

function emptyReport(): Omit<PageReport, 'blocked'> {
  return { t: 'report', started: [], results: [], lost: [], submit: [], cancel: [] };
}

function isEmpty(r: Omit<PageReport, 'blocked'>): boolean {
  return r.started.length + r.results.length + r.lost.length + r.submit.length + r.cancel.length === 0;
}

function clampThreads(n: number): number {
  return Math.max(1, Math.min(256, Math.floor(n) || 1));
}

/** Threads for this page: `?threads=N` when given, else one per core. */
export function threadsFromLocation(): number {
  const asked = Number(new URLSearchParams(location.search).get('threads'));
  if (Number.isInteger(asked) && asked >= 1 && asked <= 256) return asked;
  return Math.max(1, navigator.hardwareConcurrency || 1);
}
