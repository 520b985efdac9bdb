// The volunteer runtime of a page: one WebSocket to the coordinator, a pool
// of Web Workers, and a local queue between them. The coordinator decides
// what this page runs; the page only executes and reports.
import {
  PROTOCOL_VERSION,
  WS_PATH,
  decodeFrame,
  encodeFrame,
  parseToPage,
  type FromWebWorker,
  type PageMessage,
  type TaskOutcome,
  type TaskSpec,
  type ToWebWorker,
} from '../protocol/messages.ts';
import { bundleCounters, loadBundle, type BundleCacheCounters } from './bundle-cache.ts';

export type RuntimeState = 'connecting' | 'connected' | 'disconnected';

export interface RuntimeStatus {
  state: RuntimeState;
  threads: number;
  tasksDone: number;
  tasksFailed: number;
  running: number;
  queued: number;
  workerId?: string;
}

export interface RuntimeOptions {
  threads: number;
  /** ws:// or wss:// URL of the coordinator; defaults to this page's origin. */
  url?: string;
  /** URL of the Web Worker script. */
  workerUrl?: string;
  onStatus?: (status: RuntimeStatus) => void;
}

interface Slot {
  worker: Worker;
  bundles: Set<string>;
  task?: TaskSpec;
}

// A MessageChannel runs its callback on the next task turn without the
// clamping and background-tab throttling that setTimeout suffers.
const turn = new MessageChannel();
const turnQueue: (() => void)[] = [];
turn.port1.onmessage = () => {
  for (const fn of turnQueue.splice(0)) fn();
};
function nextTurn(fn: () => void): void {
  if (turnQueue.push(fn) === 1) turn.port2.postMessage(null);
}

export class Runtime {
  private ws?: WebSocket;
  private slots: Slot[] = [];
  private readonly queue: TaskSpec[] = [];
  private started: number[] = [];
  private results: TaskOutcome[] = [];
  private flushQueued = false;
  private retryMs = 500;
  private stopped = false;
  readonly status: RuntimeStatus;

  constructor(private readonly options: RuntimeOptions) {
    this.status = { state: 'connecting', threads: options.threads, tasksDone: 0, tasksFailed: 0, running: 0, queued: 0 };
  }

  /** How bundles reached this page: fetched over HTTP or read from IndexedDB. */
  get bundles(): BundleCacheCounters {
    return { ...bundleCounters };
  }

  start(): void {
    this.spawnWorkers();
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.ws?.close(1000, 'page closed the runtime');
    for (const slot of this.slots) slot.worker.terminate();
    this.slots = [];
  }

  private get url(): string {
    if (this.options.url) return this.options.url;
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${proto}//${location.host}${WS_PATH}`;
  }

  private emit(): void {
    this.status.running = this.slots.filter((s) => s.task).length;
    this.status.queued = this.queue.length;
    this.options.onStatus?.({ ...this.status });
  }

  private spawnWorkers(): void {
    for (const slot of this.slots) slot.worker.terminate();
    this.slots = [];
    for (let i = 0; i < this.options.threads; i++) {
      const worker = new Worker(this.options.workerUrl ?? '/worker.js', { type: 'module', name: `ladle-${i}` });
      const slot: Slot = { worker, bundles: new Set() };
      worker.onmessage = (e: MessageEvent<FromWebWorker>) => this.onWorkerMessage(slot, e.data);
      this.slots.push(slot);
    }
  }

  private connect(): void {
    this.status.state = 'connecting';
    this.emit();
    const ws = new WebSocket(this.url);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onopen = () => {
      this.retryMs = 500;
      this.send({ t: 'hello', role: 'worker', threads: this.options.threads, userAgent: navigator.userAgent, version: PROTOCOL_VERSION });
    };
    ws.onmessage = (e: MessageEvent<ArrayBuffer>) => this.onFrame(new Uint8Array(e.data));
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      this.status.state = 'disconnected';
      this.status.workerId = undefined;
      // The coordinator requeues whatever this page held; results of the old
      // session would be dropped there, so start clean.
      this.queue.length = 0;
      this.started = [];
      this.results = [];
      if (this.slots.some((s) => s.task)) this.spawnWorkers();
      this.emit();
      if (e.code === 1008) console.error(`ladle: the coordinator refused this page: ${e.reason}`);
      if (this.stopped) return;
      setTimeout(() => this.connect(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, 10_000);
    };
  }

  private send(msg: Parameters<typeof encodeFrame>[0]): void {
    this.ws?.send(encodeFrame(msg));
  }

  private onFrame(bytes: Uint8Array): void {
    const msg = decodeFrame(bytes, parseToPage);
    switch (msg.t) {
      case 'welcome':
        this.status.state = 'connected';
        this.status.workerId = msg.workerId;
        break;
      case 'tasks':
        this.queue.push(...msg.tasks);
        this.pump();
        break;
      case 'cancel': {
        // Tasks not started yet are dropped; a running one finishes and its
        // result is ignored by the coordinator.
        const drop = new Set(msg.ids);
        for (let i = this.queue.length - 1; i >= 0; i--) if (drop.has(this.queue[i].id)) this.queue.splice(i, 1);
        break;
      }
    }
    this.emit();
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (slot.task) continue;
      const task = this.queue.shift();
      if (!task) break;
      slot.task = task;
      void this.startOn(slot, task);
    }
  }

  private async startOn(slot: Slot, task: TaskSpec): Promise<void> {
    if (!slot.bundles.has(task.bundle)) {
      let code: string;
      try {
        code = await loadBundle(task.bundle);
      } catch (e) {
        const err = e as Error;
        this.onWorkerMessage(slot, { t: 'done', outcome: { id: task.id, ok: false, error: { name: err.name, message: err.message, stack: err.stack } } });
        return;
      }
      if (slot.task !== task) return; // the worker was replaced meanwhile
      slot.bundles.add(task.bundle);
      this.post(slot, { t: 'bundle', hash: task.bundle, code });
    }
    // The args are a view into the whole received frame: copy them so only
    // their own bytes move to the worker.
    const args = task.args.slice();
    this.post(slot, { t: 'run', task: { ...task, args } }, [args.buffer]);
  }

  private post(slot: Slot, msg: ToWebWorker, transfer: Transferable[] = []): void {
    slot.worker.postMessage(msg, transfer);
  }

  private onWorkerMessage(slot: Slot, msg: FromWebWorker): void {
    if (msg.t === 'started') {
      this.started.push(msg.id);
    } else {
      slot.task = undefined;
      this.results.push(msg.outcome);
      if (msg.outcome.ok) this.status.tasksDone++;
      else this.status.tasksFailed++;
      this.pump();
      this.emit();
    }
    this.scheduleFlush();
  }

  /** Reports go out at most once per task turn, batching whatever finished together. */
  private scheduleFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    nextTurn(() => {
      this.flushQueued = false;
      if (this.started.length === 0 && this.results.length === 0) return;
      const report: PageMessage = { t: 'report', started: this.started, results: this.results };
      this.started = [];
      this.results = [];
      this.send(report);
    });
  }
}

/** Threads for this page: `?threads=N` when given, else one per core. */
export function threadsFromLocation(): number {
  const asked = Number(new URLSearchParams(location.search).get('threads'));
  if (Number.isInteger(asked) && asked >= 1 && asked <= 256) return asked;
  return Math.max(1, navigator.hardwareConcurrency || 1);
}
