// The volunteer runtime of a page: one WebSocket to the coordinator, a pool
// of Web Workers, and local queues between them. The coordinator decides
// what this page runs; the page only executes, enforces task timeouts, and
// reports back in batches. A Web Worker serving a client may also open a
// socket of its own, a task lane (task-lane.ts), over which the coordinator
// sends a lone task straight to it; the page keeps the records of those it
// must know of (page-lanes.ts).
//
// Subtasks spawned here stay here (for locality) until the coordinator says
// otherwise (see subtasks.ts). A task therefore comes from one of three
// places (the coordinator, this page's own subtasks, a peer: an Origin, see
// task-origin.ts), and its outcome goes back to where it came from.
// Which Web Worker takes a waiting task is placement.ts's business, and what
// the page's report says is page-report.ts's.
import {
  CloseCode,
  PROTOCOL_VERSION,
  WS_PATH,
  type FromWebWorker,
  type TaskOutcome,
  type TaskRef,
  type TaskSpec,
  type ToPage,
} from '../protocol/messages.ts';
import { PeerOffload, type OffloadHost, type PeerStatus } from './peer-offload.ts';
import { SharedConstants } from './shared-constants.ts';
import { Subtasks, type SubtaskHost } from './subtasks.ts';
import { gridTaskOf, isGridRun, localRuns, type LocalOrigin, type Origin, type PeerTaskId, type RunId } from './task-origin.ts';
import { bundleCounters, type BundleCacheCounters } from './bundle-cache.ts';
import { nextTurn } from './next-turn.ts';
import { Clock } from './clock.ts';
import { WorkerPool, type Slot } from './worker-pool.ts';
import { Durations, PESSIMISTIC_MS, fnKey } from './durations.ts';
import { ReportOutbox } from './page-report.ts';
import { taskBytesError } from '../protocol/limits.ts';
import { Placement, type PlacementHost } from './placement.ts';
import { CoordinatorLink, type PageFrame } from './coordinator-link.ts';
import { measureCapabilities } from './capabilities.ts';
import { PageLanes } from './page-lanes.ts';
import { loadIdentity, type PageIdentity, type Standing } from './identity.ts';
import type { Capabilities } from '../protocol/needs.ts';

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
  peer: PeerStatus;
  /** What this device can do, once measured (before the page first joins). */
  capabilities?: Capabilities;
  /** This page's public id (the coordinator's word for it once welcomed), and
   * whether the browser keeps the identity for the next visit. */
  identity?: { id: string; kept: boolean };
  /** This page's record with result verification, when the coordinator verifies. */
  standing?: Standing;
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

export class Runtime {
  private readonly link: CoordinatorLink;
  private readonly pool: WorkerPool;
  private threads: number;
  private paused: boolean;
  private queue: TaskSpec[] = [];
  private readonly shared = new SharedConstants();
  private readonly newRun = localRuns();
  private readonly subtasks = new Subtasks(this.subtaskHost());
  /** Tasks taken from peers and running or waiting here, by run id. */
  private readonly peerRuns = new Map<RunId, Extract<Origin, { kind: 'peer' }>>();
  /** Tasks taken from peers, waiting for a Web Worker. */
  private peerQueue: TaskSpec[] = [];
  /** How long each task function takes here (see durations.ts). */
  private readonly durations = new Durations();
  private flushQueued = false;
  private emitTimer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  /** Timers in a Web Worker: background tabs throttle the page's own timers
   * to one a minute, which would stall timeouts, heartbeats and reconnects. */
  private readonly clock = new Clock();
  private readonly report = new ReportOutbox(this.clock, () => this.scheduleFlush());
  private readonly placement: Placement;
  private readonly peers = new PeerOffload(this.offloadHost(), this.subtasks, this.shared, this.clock);
  private identity?: PageIdentity;
  private readonly lanes: PageLanes;
  readonly status: RuntimeStatus;

  constructor(private readonly options: RuntimeOptions) {
    this.threads = clampThreads(options.threads);
    this.paused = options.paused ?? false;
    this.link = this.coordinatorLink();
    this.pool = new WorkerPool(options.workerUrl ?? '/worker.js', {
      report: (slot, msg) => this.onWorkerReport(slot, msg),
      ended: (slot) => this.ended(slot),
      died: (slot) => this.died(slot),
      ready: () => {
        this.placement.pump();
        this.emit(true);
      },
      lane: (scope) => this.lanes.grant(scope),
    });
    this.lanes = new PageLanes(this.pool, this.report, this.link.url);
    this.placement = new Placement(this.placementHost(), this.pool, this.durations, this.shared, this.subtasks, this.report, this.clock);
    this.status = {
      state: 'connecting',
      threads: this.threads,
      workers: 0,
      paused: this.paused,
      tasksDone: 0,
      tasksFailed: 0,
      running: 0,
      queued: 0,
      peer: this.peers.status,
    };
  }

  /** How bundles reached this page: fetched over HTTP or read from IndexedDB. */
  get bundles(): BundleCacheCounters {
    return { ...bundleCounters };
  }

  start(): void {
    this.pool.start(this.threads);
    // The page joins with its capabilities (the coordinator places tasks with
    // needs by them) and its identity (its record follows it across reloads).
    const caps = measureCapabilities().then(
      (caps) => {
        this.status.capabilities = caps;
        this.emit(true);
      },
      (e: Error) => console.error(`ladle: could not measure this device (${e.message}); joining without capabilities`),
    );
    const identity = loadIdentity().then((identity) => {
      this.identity = identity;
      this.status.identity = { id: identity.id, kept: identity.kept };
    });
    void Promise.all([caps, identity]).finally(() => {
      if (!this.stopped) this.link.connect();
    });
  }

  /** Sets how many Web Workers run tasks, and tells the coordinator (see
   * WorkerPool.resize: nothing is lost or run twice). */
  setThreads(n: number): void {
    const threads = clampThreads(n);
    if (threads === this.threads) return;
    this.threads = threads;
    this.status.threads = threads;
    if (!this.stopped) {
      this.pool.resize(threads);
      this.placement.pump();
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
    this.placement.pump();
    this.emit(true);
  }

  private sendCapacity(): void {
    if (this.link.open) this.send({ t: 'capacity', threads: this.threads, paused: this.paused });
  }

  stop(): void {
    this.stopped = true;
    this.peers.close();
    this.report.stop();
    this.placement.stop();
    this.clock.stop();
    this.link.stop();
    this.pool.stop();
  }

  /** Status goes out at most every 200 ms: a DOM update per task would cost more than the task. */
  private emit(now = false): void {
    if (this.emitTimer !== undefined && !now) return;
    const fire = () => {
      this.emitTimer = undefined;
      this.status.running = this.pool.running;
      this.status.workers = this.pool.all.length;
      this.status.queued = this.queue.length + this.subtasks.waiting + this.peerQueue.length;
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

  /** A Web Worker ended: its timers stop, and the subtasks its tasks
   * spawned are no longer wanted. */
  private ended(slot: Slot): void {
    for (const t of slot.timers.values()) this.clock.clearTimeout(t);
    for (const id of slot.subtasks.values()) this.subtasks.withdraw(id);
    slot.subtasks.clear();
  }

  private onWorkerReport(slot: Slot, msg: FromWebWorker): void {
    if (!this.pool.owns(slot)) return; // a replaced worker's last words
    // The coordinator heard of the grid's tasks when they were handed over (see place).
    for (const id of msg.started) {
      if (slot.tasks.has(id)) slot.started.add(id);
      const timeout = slot.tasks.get(id)?.timeout;
      if (timeout !== undefined) slot.timers.set(id, this.clock.setTimeout(() => this.timedOut(slot, id), timeout));
    }
    for (const spec of msg.submit) this.spawned(slot, spec);
    for (const local of msg.cancel) {
      const id = slot.subtasks.get(local);
      if (id === undefined) continue;
      slot.subtasks.delete(local);
      this.subtasks.withdraw(id);
    }
    const viaLane = msg.laneSent && new Set(msg.laneSent);
    msg.done.forEach((outcome, i) => {
      const task = slot.tasks.get(outcome.id);
      if (!task) {
        // A lane task's outcome: the page hears of most lane tasks only this
        // way, and of a few from the coordinator too, maybe later (page-lanes.ts).
        if (viaLane?.has(outcome.id)) {
          this.lanes.answeredUnheard(slot, outcome.id);
          this.answeredByLane(outcome);
        }
        return;
      }
      slot.tasks.delete(outcome.id);
      slot.started.delete(outcome.id);
      this.durations.add(fnKey(task), msg.took[i], msg.awaited[i]);
      // The SDK sizes its automatic chunks by how long its tasks ran.
      if (isGridRun(outcome.id as RunId)) outcome.ms = msg.took[i];
      const timer = slot.timers.get(outcome.id);
      if (timer !== undefined) this.clock.clearTimeout(timer);
      slot.timers.delete(outcome.id);
      if (this.lanes.answered(slot, outcome.id, viaLane?.has(outcome.id) === true)) this.answeredByLane(outcome);
      else this.settle(outcome);
    });
    slot.blocked = msg.blocked;
    if (msg.gpuLost !== undefined) {
      // Tasks using the lost device cannot go on: a fresh worker asks for a new one.
      console.warn(`ladle: ${msg.gpuLost}; replacing the Web Worker, its running tasks run again`);
      this.stopWorker(slot);
      return;
    }
    this.pool.settled(slot);
    this.placement.pump();
    this.scheduleFlush();
    this.emit();
  }

  /** A task's outcome goes back where the task came from. */
  private settle(outcome: TaskOutcome): void {
    if (outcome.ok) this.status.tasksDone++;
    else this.status.tasksFailed++;
    const run = outcome.id as RunId;
    const grid = gridTaskOf(run);
    if (grid !== undefined) {
      this.report.result(grid, outcome);
      return;
    }
    this.report.localDone();
    const origin = this.localOrigin(run);
    if (origin?.kind === 'own') {
      this.subtasks.finished(run, outcome);
    } else if (origin?.kind === 'peer') {
      this.peerRuns.delete(run);
      origin.done(outcome);
    } // else withdrawn while it ran
  }

  /** A grid task's outcome its Web Worker's lane carried: only the page's own counts are left. */
  private answeredByLane(outcome: TaskOutcome): void {
    if (outcome.ok) this.status.tasksDone++;
    else this.status.tasksFailed++;
    const grid = gridTaskOf(outcome.id as RunId);
    if (grid !== undefined) this.report.answeredByLane(grid);
  }

  /** Where a run here came from; undefined for one withdrawn. */
  private originOf(run: RunId): Origin | undefined {
    const grid = gridTaskOf(run);
    return grid === undefined ? this.localOrigin(run) : { kind: 'grid', id: grid };
  }

  private localOrigin(run: RunId): LocalOrigin | undefined {
    const sub = this.subtasks.ofRun(run);
    return sub ? { kind: 'own', sub } : this.peerRuns.get(run);
  }

  /** A subtask spawned by one of this page's tasks: it waits here to run. */
  private spawned(slot: Slot, spec: TaskSpec): void {
    // A worker's reports are its tasks' code to forge: a subtask under a task
    // of another worker (another client's) would join that task's tree, and
    // on the grid run in that client's scope, in its Web Workers.
    const parent = spec.parent as RunId | undefined;
    const parentTask = parent === undefined ? undefined : slot.tasks.get(parent);
    if (parent === undefined || !parentTask) {
      slot.inbox.push({ id: spec.id, ok: false, kind: 'invalid', error: { name: 'RefusedError', message: 'the page refused this subtask: its parent is not a task this Web Worker runs' } });
      return;
    }
    const under = this.runningRef(parent);
    if (!under) {
      // Its parent was withdrawn while it ran: nobody awaits this subtask.
      slot.inbox.push({ id: spec.id, ok: false, kind: 'cancelled', error: { name: 'CancelledError', message: 'its parent task was withdrawn' } });
      return;
    }
    const sub = this.subtasks.add(spec, { slot, scope: slot.scope, under, parentKey: fnKey(parentTask) });
    slot.subtasks.set(spec.id, sub.id);
    const grid = gridTaskOf(parent);
    if (grid !== undefined) this.report.spawned(grid);
  }

  /** The task of run `run`, as the coordinator can check this page runs
   * it: a grid task, or the one a tree of own subtasks or a peer's task
   * descends from. Undefined once withdrawn. */
  private runningRef(run: RunId): TaskRef | undefined {
    const origin = this.originOf(run);
    switch (origin?.kind) {
      case 'grid':
        return { task: origin.id };
      case 'own':
        return origin.sub.under;
      case 'peer':
        return { from: origin.from, id: origin.id };
      default:
        return undefined;
    }
  }

  /** A task that was running here goes back to wait for a Web Worker
   * (its worker was replaced because of another task). */
  private requeue(task: TaskSpec): void {
    const run = task.id as RunId;
    const origin = this.originOf(run);
    if (origin?.kind === 'grid') this.report.lost(origin.id);
    else if (origin?.kind === 'own') this.subtasks.requeue(run);
    else if (origin?.kind === 'peer') this.peerQueue.push(task);
  }

  private timedOut(slot: Slot, id: number): void {
    const task = slot.tasks.get(id);
    if (!task || !this.pool.owns(slot)) return;
    slot.tasks.delete(id);
    this.settle({
      id,
      ok: false,
      kind: 'timeout',
      error: {
        name: 'TimeoutError',
        message: `task ${task.fn} ran past its timeout of ${task.timeout} ms; its Web Worker was stopped and replaced`,
      },
    });
    this.stopWorker(slot);
  }

  /** Replaces a Web Worker whose running task must stop (timed out or
   * cancelled): its other tasks run again, in a fresh worker. */
  private stopWorker(slot: Slot): void {
    this.vacate(slot);
    this.pool.replace(slot);
    this.placement.pump();
    this.scheduleFlush();
    this.emit();
  }

  /** A Web Worker died by itself (its script failed to load): its tasks run
   * again, and it is restarted. */
  private died(slot: Slot): void {
    this.vacate(slot);
    this.pool.revive(slot);
    this.placement.pump();
    this.scheduleFlush();
    this.emit();
  }

  /** Takes back the tasks of a Web Worker about to end: one it had not
   * started waits here again; one it had started is reported lost to where
   * it came from (the coordinator retries it, up to its attempts). */
  private vacate(slot: Slot): void {
    for (const task of slot.tasks.values()) {
      if (isGridRun(task.id as RunId) && !slot.started.has(task.id)) this.queue.unshift(task);
      else this.requeue(task);
    }
    slot.tasks.clear();
    slot.started.clear();
  }

  // ---- the coordinator ----

  private coordinatorLink(): CoordinatorLink {
    const url = this.options.url ?? `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}${WS_PATH}`;
    return new CoordinatorLink(url, this.clock, {
      connecting: () => {
        this.status.state = 'connecting';
        this.emit(true);
      },
      opened: () => {
        // A private grid's join URL carries its join token.
        const joinToken = new URLSearchParams(location.search).get('join') ?? undefined;
        this.send({ t: 'hello', role: 'worker', threads: this.threads, userAgent: navigator.userAgent, version: PROTOCOL_VERSION, joinToken, capabilities: this.status.capabilities, identity: this.identity?.secret, lanes: true });
        if (this.paused) this.sendCapacity();
      },
      frame: (msg) => this.onFrame(msg),
      closed: (code, reason) => this.disconnected(code, reason),
    });
  }

  /** The coordinator requeues whatever this page held, and peers are told
   * it left: start clean. */
  private disconnected(code: number, reason: string): void {
    this.status.state = 'disconnected';
    this.status.workerId = undefined;
    this.peers.close();
    this.queue = [];
    this.subtasks.clear();
    this.peerRuns.clear();
    this.peerQueue = [];
    this.report.clear();
    this.shared.clear();
    this.lanes.forget();
    this.pool.reset();
    this.emit(true);
    if (code === CloseCode.PROTOCOL || code === CloseCode.INVALID_JOIN_TOKEN) console.error(`ladle: the coordinator refused this page: ${reason}`);
  }

  private send(msg: PageFrame): void {
    this.link.send(msg);
  }

  private onFrame(msg: ToPage): void {
    switch (msg.t) {
      case 'welcome':
        this.status.state = 'connected';
        this.status.workerId = msg.workerId;
        this.peers.open(msg.workerId, msg.peer, this.link.url);
        if (msg.identity && this.status.identity) this.status.identity.id = msg.identity;
        this.report.limits = msg.limits;
        this.emit(true);
        break;
      case 'standing': {
        const { checked, agreed, trusted, quarantined } = msg;
        this.status.standing = { checked, agreed, trusted, quarantined };
        this.emit(true);
        break;
      }
      case 'tasks':
        for (const t of msg.tasks) this.queue.push(t);
        this.placement.pump();
        break;
      case 'cancel': {
        // Tasks not handed to a worker yet are dropped; the coordinator
        // ignores the result of one that already started.
        const drop = new Set(msg.ids);
        this.queue = this.queue.filter((t) => !drop.has(t.id));
        // A running one stops only with its Web Worker. One a worker holds
        // unstarted runs (a pause or a drain takes back only those, and must
        // not stop the running ones); the coordinator ignores its result.
        for (const slot of this.pool.all) {
          let running = false;
          for (const id of msg.ids) {
            if (!slot.started.delete(id)) continue;
            slot.tasks.delete(id);
            running = true;
          }
          if (running) this.stopWorker(slot);
        }
        break;
      }
      case 'results':
        for (const outcome of msg.results) this.subtasks.fromGrid(outcome);
        break;
      case 'shared':
        this.shared.add(msg.scope, msg.values);
        break;
      case 'unshare':
        this.unshare(msg.scope);
        break;
      case 'ping':
        this.send({ t: 'pong' });
        this.report.pinged();
        return;
      case 'steal':
        this.peers.steal(msg.from, msg.max);
        break;
      case 'lend':
        this.peers.grant(msg.to, msg.max, msg.has);
        break;
      case 'release':
        this.subtasks.release(msg.max);
        this.scheduleFlush();
        break;
      case 'peerGone':
        this.peers.peerGone(msg.peer);
        break;
      case 'lane':
        this.lanes.granted(msg.scope, msg.key);
        break;
      case 'laned':
        if (!this.lanes.laned(msg.nonce, msg.tasks)) this.scheduleFlush();
        break;
      case 'laneClosed':
        this.lanes.closed(msg.nonce, msg.ids);
        this.scheduleFlush();
        break;
    }
    this.emit();
  }

  /** A client left: its constants go from this page and from what each link
   * has been sent (they can be large, and a page lives long), and its Web
   * Workers are replaced, ending whatever its tasks still run or left behind
   * (an endless loop, patched globals, nested workers). */
  private unshare(scope: string): void {
    this.shared.delete(scope);
    this.lanes.forget(scope);
    this.peers.unshare(scope);
    this.peerQueue = this.peerQueue.filter((t) => t.scope !== scope || !this.peerRuns.delete(t.id as RunId));
    for (const slot of this.pool.of(scope)) {
      for (const id of slot.tasks.keys()) {
        this.subtasks.forgetRun(id as RunId);
        this.peerRuns.delete(id as RunId);
      }
      slot.tasks.clear();
      slot.started.clear();
      this.pool.replace(slot);
    }
    this.placement.pump();
  }

  // ---- peers (WebRTC): what peer-offload.ts asks of the queues ----

  private offloadHost(): OffloadHost {
    return {
      run: (task, from, done) => {
        const run = this.newRun();
        this.peerRuns.set(run, { kind: 'peer', from, id: task.id as PeerTaskId, done });
        this.peerQueue.push({ ...task, id: run });
        return run;
      },
      drop: (runs) => {
        for (const run of runs) this.peerRuns.delete(run);
        this.peerQueue = this.peerQueue.filter((t) => this.peerRuns.has(t.id as RunId));
      },
      changed: (registered) => {
        if (registered !== undefined) this.send({ t: 'peer', open: registered });
        // Subtasks may have been lent: watch them for overdue ones.
        this.placement.watchCopies();
        this.placement.pump();
        this.scheduleFlush();
        this.emit(registered !== undefined);
      },
    };
  }

  // ---- subtasks: what subtasks.ts asks of the page ----

  private subtaskHost(): SubtaskHost {
    return {
      answered: (sub, outcome) => {
        // To the Web Worker that spawned it, at the end of the turn.
        sub.slot.subtasks.delete(sub.local);
        sub.slot.inbox.push({ ...outcome, id: sub.local });
        this.scheduleFlush();
      },
      toGrid: (task) => {
        this.report.submit(task);
        this.scheduleFlush();
      },
      fitsGrid: (spec) => taskBytesError(spec.fn, spec.args.byteLength, this.report.limits) === undefined,
      cancelAtGrid: (id) => this.report.cancel(id),
      withdrawFromPeer: (link, id) => this.peers.withdraw(link, id),
      newRun: () => this.newRun(),
      usualMs: (spec) => this.durations.get(fnKey(spec), PESSIMISTIC_MS),
    };
  }

  // ---- handing tasks to Web Workers: what placement.ts asks of the queues ----

  private placementHost(): PlacementHost {
    return {
      // A paused page still runs subtasks: its started tasks need them.
      waiting: () => this.peerQueue.length + this.subtasks.waiting + (this.paused ? 0 : this.queue.length),
      // Tasks taken from peers first, then this page's own subtasks (newest
      // first), then the coordinator's.
      offer: (place) => {
        this.peerQueue = this.peerQueue.filter((task) => !place(task));
        this.subtasks.runReady(place);
        if (!this.paused) this.queue = this.queue.filter((task) => !place(task));
      },
      unloadable: (hash, error) => {
        const fail = (run: number) => {
          const grid = gridTaskOf(run as RunId);
          if (grid !== undefined) this.report.started(grid);
          this.settle({ id: run, ok: false, error });
        };
        const [failed, rest] = partition(this.queue, (t) => t.bundle === hash);
        this.queue = rest;
        for (const t of failed) fail(t.id);
        const [peerFailed, peerRest] = partition(this.peerQueue, (t) => t.bundle === hash);
        this.peerQueue = peerRest;
        for (const t of peerFailed) fail(t.id);
        this.subtasks.failBundle(hash, error);
        this.scheduleFlush();
      },
      copied: (n) => {
        this.status.peer.copied += n;
        this.report.copied(n);
      },
      checked: () => {
        this.scheduleFlush();
        this.emit();
      },
    };
  }

  /** Once per turn: outcomes to the Web Workers, results to peers, and one
   * report to the coordinator, batching whatever happened together. */
  private scheduleFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    // With nothing left to run here, no other news can join this report in
    // the next turn: it leaves now (once this turn's promises have run).
    const idle = this.pool.running === 0 && this.queue.length === 0;
    (idle ? queueMicrotask : nextTurn)(() => {
      this.flushQueued = false;
      this.pool.sendInboxes();
      const load = { blocked: this.pool.blocked, ready: this.subtasks.waiting, local: this.subtasks.running + this.peerRuns.size };
      for (const report of this.report.take(load, this.peers.flush(), this.peers.takeReport())) this.send(report);
    });
  }
}

function partition<T>(xs: T[], pred: (x: T) => boolean): [T[], T[]] {
  const yes: T[] = [];
  const no: T[] = [];
  for (const x of xs) (pred(x) ? yes : no).push(x);
  return [yes, no];
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
