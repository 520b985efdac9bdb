// The hub is the coordinator's face to its sockets: it reads each new
// socket's hello and hands the socket to the client gateway (SDK sessions:
// client-gateway.ts) or the page gateway (volunteer pages: page-gateway.ts),
// both around one task lifecycle (task-lifecycle.ts: queues, retries, ends
// tasks, runs a verified task as replicas and carries out the verifier's
// verdicts). It wires who follows the lifecycle's events (job statistics, the
// journal, the tasks' owners), beats the heartbeat, and batches what goes
// back out: one flush per turn of the event loop, one frame per peer.
import type { WebSocket } from 'ws';
import { CloseCode, PROTOCOL_VERSION, ProtocolError, decodeFrame, parseHello, type PeerConfig } from '../protocol/messages.ts';
import { coordinatorLimits, type Limits, type VerifyOption } from '../protocol/limits.ts';
import type { Journal } from './journal.ts';
import type { Snapshot } from './store/store.ts';
import { TokenGate, type TokenSet } from './auth.ts';
import { HELLO_LIMITS } from '../protocol/frame-scan.ts';
import type { Dispatch, Scheduler } from './scheduler.ts';
import { JobBook } from './jobs.ts';
import type { TaskStore } from './task-store.ts';
import type { PageId, TaskId } from './ids.ts';
import type { Stats } from './stats.ts';
import { TaskLifecycle } from './task-lifecycle.ts';
import { ClientGateway } from './client-gateway.ts';
import { PageGateway } from './page-gateway.ts';
import { reject, toBytes } from './socket-frames.ts';

export interface HubOptions {
  /** Who may submit. */
  tokens: TokenSet;
  /** When set, pages must present it to join (a private grid). */
  joinToken?: string;
  /** What frames, tasks and results may carry (default coordinatorLimits()). */
  limits?: Limits;
  /** Tasks a client may submit per second, sustained (bursts of twice that; default 200,000). */
  submitRate?: number;
  /** Unfinished tasks one client may have at once (default 2,000,000), and
   * subtasks pages may add to its task tree besides. */
  maxTasksPerClient?: number;
  /** Subtasks one page may hand to the grid per second, sustained (bursts of
   * twice that; default 10,000): the excess is refused, as an error outcome. */
  pageReleaseRate?: number;
  /** Unfinished subtasks one page may have handed to the grid (default 100,000). */
  maxTasksPerPage?: number;
  /** A task that spawned subtasks gets a backup copy after max(this, 10 times
   * its usual time) (default 30 s): a page may hold one but never finish it. */
  spawnedBackupMs?: number;
  /** Bytes of shared constants the sessions of one submit token may hold at once (default 256 MiB). */
  sharedQuotaBytes?: number;
  /** How many pages may be lost while running one task before it fails. */
  maxAttempts?: number;
  /** How long a new socket may take to say hello. */
  helloTimeoutMs?: number;
  /** How often pages are pinged. */
  heartbeatMs?: number;
  /** A page silent this long is dropped and its tasks requeued; an SDK
   * client's socket silent this long is closed (a network cut: its session
   * waits out its grace). */
  deadlineMs?: number;
  /** How long the session of a client whose socket closed without a closing
   * handshake is kept, when shorter than its grace (default 5 s): its
   * process exited or crashed and the kernel closed the socket, so its tasks
   * are stopped within seconds. A network cut shows no close: only silence. */
  abandonedGraceMs?: number;
  /** Bytes of results held for a disconnected client past which its queued
   * tasks wait for it to come back (default 64 MiB). */
  heldResultBytes?: number;
  /** Peer offloading over WebRTC: the PeerServer pages register with. Off when unset. */
  peer?: PeerConfig;
  /** Called when a page leaves (the PeerServer ends its registration). */
  onPageGone?: (id: PageId) => void;
  /** Checks submit tokens with the throttle the HTTP API shares (one is made from `tokens` if unset). */
  gate?: TokenGate;
  /** Called once a socket has said a valid hello: until then its frames are
   * held to a few KiB (the coordinator lifts its size limit here). */
  onTrusted?: (ws: WebSocket) => void;
  /** Durable mode: what changes is written here (see journal.ts). */
  journal?: Journal;
  /** How tasks' results are verified when their handle does not say (default 'off'). */
  verify?: VerifyOption;
  /** Random numbers in [0, 1) for spot checks (tests pass their own). */
  random?: () => number;
}

/** How often a drain looks whether the running tasks have finished. */
const DRAIN_CHECK_MS = 50;

const NOTHING_TO_DISPATCH: Dispatch<PageId, TaskId> = { send: new Map(), revoke: new Map(), hints: new Map(), releases: new Map() };

export class Hub {
  readonly scheduler: Scheduler<PageId, TaskId>;
  readonly store: TaskStore;
  private readonly lifecycle: TaskLifecycle;
  private readonly clients: ClientGateway;
  private readonly pages: PageGateway;
  private readonly jobs: JobBook;
  private readonly journal: Journal | undefined;
  private readonly helloTimeoutMs: number;
  private readonly heartbeat: ReturnType<typeof setInterval>;
  private flushQueued = false;
  /** Shutting down (see drain): nothing is dispatched. */
  private draining = false;
  private readonly startedAt = Date.now();

  constructor(options: HubOptions) {
    const onTrusted = options.onTrusted ?? (() => undefined);
    const limits = options.limits ?? coordinatorLimits();
    const maxTasksPerClient = options.maxTasksPerClient ?? 2_000_000;
    const deadlineMs = options.deadlineMs ?? 15_000;
    const schedule = () => this.schedule();
    this.lifecycle = new TaskLifecycle(options, {
      seatOf: (pageId) => this.pages.seatOf(pageId),
      seats: () => this.pages.seats(),
      ask: (clientId, question) => this.clients.ask(clientId, question),
    });
    this.store = this.lifecycle.store;
    this.scheduler = this.lifecycle.scheduler;
    this.journal = options.journal;
    this.jobs = new JobBook(Date.now, this.journal);
    this.clients = new ClientGateway(
      {
        gate: options.gate ?? new TokenGate(options.tokens),
        onTrusted,
        limits,
        submitRate: options.submitRate ?? 200_000,
        maxTasksPerClient,
        sharedQuotaBytes: options.sharedQuotaBytes ?? 256 * 1024 * 1024,
        deadlineMs,
        abandonedGraceMs: options.abandonedGraceMs ?? 5_000,
        heldResultBytes: options.heldResultBytes ?? 64 * 1024 * 1024,
        journal: this.journal,
      },
      this.lifecycle,
      this.jobs,
      schedule,
      (scope) => this.pages.unshare(scope),
    );
    this.pages = new PageGateway(
      {
        onTrusted,
        limits,
        joinToken: options.joinToken,
        pageReleaseRate: options.pageReleaseRate ?? 10_000,
        maxTasksPerPage: options.maxTasksPerPage ?? 100_000,
        maxTasksPerClient,
        deadlineMs,
        peer: options.peer,
        onPageGone: options.onPageGone ?? (() => undefined),
      },
      this.lifecycle,
      this.clients,
      schedule,
    );
    const journal = this.journal;
    if (journal) this.lifecycle.verifier.trust.onRecord = (identity, record) => journal.trust(identity, record);
    // Who follows the tasks: job statistics, the journal, and each task's owner.
    this.lifecycle.on('ended', (record, how) => {
      this.jobs.settled(record.id, how);
      if (record.owner.kind === 'client') this.journal?.taskEnded(record.owner.id, record.ownerTaskId);
    });
    this.lifecycle.on('started', (record) => {
      if (record.owner.kind === 'client') this.clients.started(record.owner.id, record.ownerTaskId);
    });
    this.lifecycle.on('outcome', (record, outcome) => {
      if (record.owner.kind === 'client') this.clients.deliver(record.owner.id, outcome);
      else this.pages.deliver(record.owner.id, outcome);
    });
    this.lifecycle.on('revoke', (pageId, id) => this.pages.tellCancel(pageId, id));
    this.lifecycle.on('verifyWaits', (clientId, pages, joined) => this.clients.warnVerify(clientId, pages, joined));
    this.helloTimeoutMs = options.helloTimeoutMs ?? 10_000;
    this.heartbeat = setInterval(() => this.beat(), options.heartbeatMs ?? 5_000);
    this.heartbeat.unref();
  }

  stats(): Stats {
    const now = Date.now();
    return {
      workers: this.pages.size,
      threads: this.scheduler.threadCount,
      clients: this.clients.size,
      queued: this.scheduler.queuedCount,
      waitingForNeeds: this.scheduler.waitingForNeeds(),
      running: this.scheduler.assignedCount,
      prefetched: this.scheduler.prefetchedCount,
      completed: this.store.completed,
      failed: this.store.failed,
      perWorker: this.pages.perWorker(now),
      verify: this.lifecycle.verifier.stats(),
      jobs: this.jobs.list(),
      uptimeSeconds: Math.round((now - this.startedAt) / 1000),
      peer: this.pages.peerStats(),
      lanes: this.pages.laneStats(),
    };
  }

  /** Whether a page is connected and `secret` is its PeerServer secret (the PeerServer admits only pages). */
  isPeerOf(id: string, secret: string): boolean {
    return this.pages.isPeerOf(id, secret);
  }

  /** Takes a fresh socket from `address`: the first frame must be a hello saying who it is. */
  accept(ws: WebSocket, address = 'unknown'): void {
    // Socket errors (an oversized frame, a reset) are followed by 'close',
    // which does the cleanup; unhandled, they would crash the coordinator.
    ws.on('error', () => undefined);
    const timer = setTimeout(() => ws.close(CloseCode.PROTOCOL, 'no hello received'), this.helloTimeoutMs);
    ws.once('message', (data, isBinary) => {
      clearTimeout(timer);
      try {
        if (!isBinary) throw new ProtocolError('frames must be binary');
        const hello = decodeFrame(toBytes(data), parseHello, HELLO_LIMITS);
        if (hello.version !== PROTOCOL_VERSION) {
          throw new ProtocolError(`protocol version ${hello.version} is not supported (coordinator speaks ${PROTOCOL_VERSION})`);
        }
        if (hello.role === 'client') this.clients.admit(ws, hello, address);
        else if (hello.role === 'lane') this.pages.admitLane(ws, hello);
        else this.pages.admit(ws, hello, address);
      } catch (e) {
        reject(ws, e);
      }
    });
    ws.once('close', () => clearTimeout(timer));
  }

  /** Shutting down: no task starts any more (pages give back those they
   * hold unstarted). Resolves once the running ones have finished (true),
   * or at the deadline (false). */
  drain(deadlineMs: number): Promise<boolean> {
    this.draining = true;
    this.pages.drain();
    this.schedule();
    const until = Date.now() + deadlineMs;
    return new Promise((resolve) => {
      const check = () => {
        if (this.scheduler.assignedCount === 0) resolve(true);
        else if (Date.now() >= until) resolve(false);
        else setTimeout(check, DRAIN_CHECK_MS);
      };
      check();
    });
  }

  /** Closes every connection and stops the heartbeat (used on shutdown). */
  closeAll(code: number, reason: string): void {
    clearInterval(this.heartbeat);
    this.clients.closeAll(code, reason);
    this.pages.closeAll(code, reason);
  }

  /** A restarted coordinator takes back what its store kept (see ClientGateway.restore). */
  restore(snapshot: Snapshot): void {
    this.store.completed = snapshot.counters.completed;
    this.store.failed = snapshot.counters.failed;
    this.lifecycle.verifier.trust.restore(snapshot.trust);
    this.clients.restore(snapshot);
    this.schedule();
  }

  /** Pings pages and clients; drops those silent past the deadline. */
  private beat(): void {
    const now = Date.now();
    this.pages.beat(now);
    this.clients.beat(now);
    // Steal hints that went unanswered expire: look again.
    this.schedule();
  }

  // ---- batching: one frame per peer per turn of the event loop ----

  private schedule(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushQueued = false;
    this.pages.flush(this.draining ? NOTHING_TO_DISPATCH : this.scheduler.dispatch());
    // What a client hears of (results, acks) is in the store first.
    if (this.journal && !this.journal.commit()) return;
    this.clients.flush();
  }
}
