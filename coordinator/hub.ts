// The hub connects the sockets to the scheduler and the task store: it
// authenticates each connection, turns messages into scheduler and store
// calls, keeps pages honest with heartbeats, runs a verified task as
// replicas and carries out the verifier's verdicts on them (verifier.ts),
// and batches what goes back out (one frame per peer per turn).
import { randomBytes, randomUUID } from 'node:crypto';
import type { WebSocket, RawData } from 'ws';
import {
  CLIENT_CLOSED,
  CloseCode,
  PROTOCOL_VERSION,
  ProtocolError,
  decodeFrame,
  encodeFrame,
  parseClientMessage,
  parseHello,
  parsePageMessage,
  type ClientHello,
  type ClientMessage,
  type FailureKindRefused,
  type PageHello,
  type PageMessage,
  type PageReport,
  type PeerConfig,
  type ReleasedTask,
  type TaskOutcome,
  type TaskRef,
  type TaskSpec,
  type ToPage,
} from '../protocol/messages.ts';
import { coordinatorLimits, sharedBytesError, taskBytesError, taskOptionsError, type Limits } from '../protocol/limits.ts';
import { ClientSession } from './client-session.ts';
import type { Journal } from './journal.ts';
import type { Snapshot } from './store/store.ts';
import { RateLimit, TokenGate, sameSecret, type TokenSet } from './auth.ts';
import { HELLO_LIMITS } from '../protocol/frame-scan.ts';
import type { Dispatch, Scheduler } from './scheduler.ts';
import { JobBook } from './jobs.ts';
import { OffloadRecord } from './offload-record.ts';
import { clientOwner, pageOwner, type TaskStore, type TaskRecord } from './task-store.ts';
import type { ClientId, PageId, ScopeId, TaskId } from './ids.ts';
import type { PeerStats, Stats } from './stats.ts';
import { needsMet, type Capabilities } from '../protocol/needs.ts';
import type { VerifyOption } from '../protocol/limits.ts';
import type { PageSeat, Verifier } from './verifier.ts';
import { TaskLifecycle, cancelledOutcome } from './task-lifecycle.ts';
import { publicId } from './page-identity.ts';

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

/** Ids a page may name in one report beyond the tasks it holds: results and
 * starts of tasks taken from it while the report was on its way. */
const REPORT_SLACK = 1024;

/** Needs (as in Scheduler.waitingForNeeds) each client has been told no page meets. */
type WarnedNeeds = WeakMap<ClientSession, Set<string>>;

interface PageConn {
  id: PageId;
  ws: WebSocket;
  threads: number;
  userAgent: string;
  connectedAt: number;
  lastSeen: number;
  cancels: TaskId[];
  results: TaskOutcome[];
  /** Names of each scope's constants this page has been sent. */
  sharedSent: Map<string, Set<string>>;
  /** Its volunteer paused it: it runs what it started and gets nothing new. */
  paused: boolean;
  /** Registered with the PeerServer. */
  peerOpen: boolean;
  /** Open WebRTC links it started. */
  links: number;
  /** Tasks it finished that the coordinator did not send it (subtasks), as
   * the page reports them: not verifiable, so shown to token holders only. */
  localDone: number;
  /** Its budget of subtasks released to the grid. */
  releases: RateLimit;
  /** What it presents to the PeerServer to register under its id. */
  peerSecret: string;
  /** Scopes (clients) it has been sent tasks of: it hears when they leave. */
  ran: Set<ScopeId>;
  /** What it reported of its device when it joined. */
  capabilities?: Capabilities;
  /** Its public identity (kept across reloads: see browser-worker/identity.ts)
   * and network address: where verification places replicas. */
  seat: PageSeat;
}

/** How often a drain looks whether the running tasks have finished. */
const DRAIN_CHECK_MS = 50;

const NOTHING_TO_DISPATCH: Dispatch<PageId, TaskId> = { send: new Map(), revoke: new Map(), hints: new Map(), releases: new Map() };

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}

/** A client submitting far above the rate limit: its connection is closed. */
class FloodError extends ProtocolError {}

export class Hub {
  readonly scheduler: Scheduler<PageId, TaskId>;
  private readonly warnedNeeds: WarnedNeeds = new WeakMap();
  readonly store: TaskStore;
  private readonly clients = new Map<string, ClientSession>();
  /** Clients by the scope id pages know their trees by. */
  private readonly scopes = new Map<ScopeId, ClientSession>();
  private readonly pages = new Map<string, PageConn>();
  private readonly joinToken: string | undefined;
  private readonly gate: TokenGate;
  private readonly onTrusted: (ws: WebSocket) => void;
  private readonly limits: Limits;
  private readonly submitRate: number;
  private readonly maxTasksPerClient: number;
  private readonly pageReleaseRate: number;
  private readonly maxTasksPerPage: number;
  private readonly sharedQuotaBytes: number;
  private readonly helloTimeoutMs: number;
  private readonly deadlineMs: number;
  private readonly abandonedGraceMs: number;
  private readonly heldResultBytes: number;
  /** Client sockets closed here for their silence (a cut, not an exit). */
  private readonly silenced = new WeakSet<WebSocket>();
  private readonly heartbeat: ReturnType<typeof setInterval>;
  private flushQueued = false;
  /** Shutting down (see drain): nothing is dispatched. */
  private draining = false;
  private readonly dirtyClients = new Set<ClientSession>();
  private readonly dirtyPages = new Set<PageConn>();
  private readonly startedAt = Date.now();
  private readonly jobs: JobBook;
  private readonly peerConfig: PeerConfig | undefined;
  private readonly onPageGone: (id: PageId) => void;
  private readonly offloads = new OffloadRecord();
  private readonly journal: Journal | undefined;
  private readonly lifecycle: TaskLifecycle;
  private readonly verifier: Verifier;
  /** Clients told that their verified tasks wait for more distinct pages. */
  private readonly warnedVerify = new WeakSet<ClientSession>();
  private readonly peerCounts = { tasksOffloaded: 0, bytesSent: 0, tasksReleased: 0, linksFailed: 0, tasksCopied: 0, stealsRefused: 0 };

  constructor(options: HubOptions) {
    this.gate = options.gate ?? new TokenGate(options.tokens);
    this.onTrusted = options.onTrusted ?? (() => undefined);
    this.joinToken = options.joinToken;
    this.limits = options.limits ?? coordinatorLimits();
    this.submitRate = options.submitRate ?? 200_000;
    this.maxTasksPerClient = options.maxTasksPerClient ?? 2_000_000;
    this.pageReleaseRate = options.pageReleaseRate ?? 10_000;
    this.maxTasksPerPage = options.maxTasksPerPage ?? 100_000;
    this.sharedQuotaBytes = options.sharedQuotaBytes ?? 256 * 1024 * 1024;
    this.lifecycle = new TaskLifecycle(options, {
      seatOf: (pageId) => this.pages.get(pageId)?.seat,
      seats: () => [...this.pages.values()].map((page) => page.seat),
      ask: (clientId, question) => {
        const client = this.clients.get(clientId);
        if (!client) return false;
        client.replies.push({ t: 'compare', ...question });
        this.markClient(client);
        return true;
      },
    });
    this.store = this.lifecycle.store;
    this.scheduler = this.lifecycle.scheduler;
    this.verifier = this.lifecycle.verifier;
    this.peerConfig = options.peer;
    this.journal = options.journal;
    this.jobs = new JobBook(Date.now, this.journal);
    // What follows the tasks: job statistics, the journal, and their owners.
    this.lifecycle.on('ended', (record, how) => {
      this.jobs.settled(record.id, how);
      if (record.owner.kind === 'client') this.journal?.taskEnded(record.owner.id, record.ownerTaskId);
    });
    this.lifecycle.on('started', (record) => {
      const client = record.owner.kind === 'client' ? this.clients.get(record.owner.id) : undefined;
      if (!client) return;
      client.started.push(record.ownerTaskId);
      this.markClient(client);
    });
    this.lifecycle.on('outcome', (record, outcome) => this.deliver(record, outcome));
    this.lifecycle.on('revoke', (pageId, id) => this.tellCancel(pageId, id));
    this.lifecycle.on('verifyWaits', (clientId, pages, joined) => this.warnVerify(clientId, pages, joined));
    this.onPageGone = options.onPageGone ?? (() => undefined);
    this.helloTimeoutMs = options.helloTimeoutMs ?? 10_000;
    this.deadlineMs = options.deadlineMs ?? 15_000;
    this.abandonedGraceMs = options.abandonedGraceMs ?? 5_000;
    this.heldResultBytes = options.heldResultBytes ?? 64 * 1024 * 1024;
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
      perWorker: [...this.pages.values()].map((p) => {
        const slots = this.scheduler.page(p.id);
        return {
          id: p.id,
          userAgent: p.userAgent,
          threads: p.threads,
          // Subtasks it ran (its own, or taken from peers) count too.
          tasksDone: (slots?.done ?? 0) + p.localDone,
          rate: Math.round((slots?.rate ?? 0) * 10) / 10,
          currentTasks: slots?.assigned.size ?? 0,
          connectedSeconds: Math.round((now - p.connectedAt) / 1000),
          paused: p.paused,
          peer: p.peerOpen,
          peerTasks: this.offloads.heldBy(p.id),
          capabilities: p.capabilities,
          identity: p.seat.identity,
          trust: this.verifier.standing(p.seat.identity),
        };
      }),
      verify: this.verifier.stats(),
      jobs: this.jobs.list(),
      uptimeSeconds: Math.round((now - this.startedAt) / 1000),
      peer: this.peerStats(),
    };
  }

  private peerStats(): PeerStats {
    let pages = 0;
    let links = 0;
    for (const p of this.pages.values()) {
      if (p.peerOpen) pages++;
      links += p.links;
    }
    return { pages, links, tasksOnPeers: this.offloads.onPeers, ...this.peerCounts };
  }

  /** Whether a page is connected and `secret` is its PeerServer secret (the PeerServer admits only pages). */
  isPeerOf(id: string, secret: string): boolean {
    const page = this.pages.get(id);
    return page !== undefined && sameSecret(page.peerSecret, secret);
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
        if (hello.role === 'client') {
          // A client resuming its session proves itself with the session's
          // secret, which cannot be guessed: a lockout of its address (by a
          // guesser behind the same NAT) does not cut it off.
          const session = hello.resume && this.clients.get(hello.resume.clientId);
          if (session && session.verifies(hello.resume!.secret)) {
            this.onTrusted(ws);
            this.addClient(ws, hello, session.tokenName);
            return;
          }
          const check = this.gate.check(address, hello.token);
          if (!check.ok) {
            if (check.reason === 'throttled') ws.close(CloseCode.THROTTLED, `too many failed attempts; retry in ${check.retryAfter} s`);
            else ws.close(CloseCode.INVALID_TOKEN, 'invalid token');
            return;
          }
          this.onTrusted(ws);
          this.addClient(ws, hello, check.name);
        } else {
          if (this.joinToken !== undefined && !sameSecret(hello.joinToken ?? '', this.joinToken)) {
            ws.close(CloseCode.INVALID_JOIN_TOKEN, 'invalid join token: open the join URL the coordinator printed');
            return;
          }
          this.onTrusted(ws);
          this.addPage(ws, hello, address);
        }
      } catch (e) {
        this.reject(ws, e);
      }
    });
    ws.once('close', () => clearTimeout(timer));
  }

  /** Shutting down: no task starts any more (pages give back those they
   * hold unstarted). Resolves once the running ones have finished (true),
   * or at the deadline (false). */
  drain(deadlineMs: number): Promise<boolean> {
    this.draining = true;
    for (const page of this.pages.values()) for (const id of this.scheduler.setThreads(page.id, 0)) this.tellCancel(page.id, id);
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
    for (const c of this.clients.values()) {
      c.ws?.close(code, reason);
      c.end();
    }
    for (const p of this.pages.values()) p.ws.close(code, reason);
  }

  private reject(ws: WebSocket, e: unknown): void {
    const reason = e instanceof ProtocolError ? e.message : 'internal error';
    if (!(e instanceof ProtocolError)) console.error('ladle coordinator:', e);
    // Close reasons are limited to 123 bytes.
    ws.close(e instanceof FloodError ? CloseCode.THROTTLED : CloseCode.PROTOCOL, Buffer.from(reason).subarray(0, 123).toString());
  }

  /** Feeds a socket's frames to `handle`; a bad frame closes the socket,
   * after `onViolation` (a client that breaks the rules loses its session). */
  private listen<T>(ws: WebSocket, parse: (x: unknown) => T, handle: (msg: T) => void, onViolation?: () => void): void {
    ws.on('message', (data, isBinary) => {
      // Frames that were in flight when the socket began closing are ignored.
      if (ws.readyState !== ws.OPEN) return;
      try {
        if (!isBinary) throw new ProtocolError('frames must be binary');
        handle(decodeFrame(toBytes(data), parse));
      } catch (e) {
        onViolation?.();
        this.reject(ws, e);
      }
    });
  }

  // ---- SDK clients ----

  private addClient(ws: WebSocket, hello: ClientHello, tokenName: string): void {
    let client: ClientSession;
    let peerAck = 0;
    if (hello.resume) {
      const known = this.clients.get(hello.resume.clientId);
      if (!known || !known.verifies(hello.resume.secret)) {
        ws.close(CloseCode.SESSION_EXPIRED, 'session expired');
        return;
      }
      client = known;
      peerAck = hello.resume.ack;
      // A resumed session replaces a socket the coordinator may not know is dead yet.
      const stale = client.ws;
      client.ws = undefined;
      stale?.terminate();
    } else {
      client = new ClientSession(hello.grace ?? 60_000, tokenName, new RateLimit(this.submitRate, 2 * this.submitRate), this.limits.frameBytes);
      this.clients.set(client.id, client);
      this.scopes.set(client.scope, client);
      this.journal?.session(client);
    }
    this.listen(
      ws,
      parseClientMessage,
      (msg) => this.onClientMessage(client, msg),
      () => this.removeClient(client),
    );
    // The SDK gives up on a session whose frame was too big (it would resend
    // it on resume), so its tasks need not run on for the grace period.
    ws.on('error', (e: Error & { code?: string }) => {
      if (e.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' && client.ws === ws) this.removeClient(client);
    });
    ws.on('close', (code, reason) => {
      if (client.ws !== ws) return;
      if (code === 1000 && reason.toString() === CLIENT_CLOSED) this.removeClient(client);
      // No closing handshake (1006), and not a silence closed here: the
      // client's kernel closed its socket, so its process is gone. A quick
      // reconnect (a proxy that reset the connection) still resumes.
      else if (code === 1006 && !this.silenced.has(ws)) client.detach(() => this.removeClient(client), this.abandonedGraceMs);
      else client.detach(() => this.removeClient(client));
    });
    ws.on('pong', () => {
      if (client.ws === ws) client.lastSeen = Date.now();
    });
    this.scheduler.holdClient(client.id, false);
    client.attach(ws, { t: 'welcome', clientId: client.id, secret: client.secret, resumed: hello.resume !== undefined, ack: client.received, limits: this.limits }, peerAck);
    // A session restored from the store sends what it kept once its client is back.
    if (client.results.length > 0) this.markClient(client);
  }

  /** Tells a client, once per needs, that none of the joined pages can run
   * some of its tasks (they wait for one that can). */
  private warnWaiting(client: ClientSession): void {
    const waiting = this.scheduler.waitingForNeeds();
    let warned = this.warnedNeeds.get(client);
    const fresh: Record<string, number> = {};
    for (const [needs, n] of Object.entries(waiting)) {
      if (warned?.has(needs)) continue;
      if (!warned) this.warnedNeeds.set(client, (warned = new Set()));
      warned.add(needs);
      fresh[needs] = n;
    }
    if (Object.keys(fresh).length > 0) client.replies.push({ t: 'waiting', needs: fresh });
  }

  private onClientMessage(client: ClientSession, msg: ClientMessage): void {
    client.lastSeen = Date.now();
    if (msg.t === 'ack') {
      this.journal?.acked(client.id, client.acked(msg.seq));
      return;
    }
    if (!client.accept(msg.seq)) return; // resent after a reconnect, already done
    this.journal?.session(client);
    this.markClient(client);
    switch (msg.t) {
      case 'submit': {
        // A flood closes the connection: the rate is far above what the SDK
        // sends, and answering each task of a flood would amplify it.
        if (!client.submits.take(msg.tasks.length + 1)) throw new FloodError(`submission rate limit exceeded (${this.submitRate} tasks/s)`);
        // A task out of bounds fails alone; the session and its other tasks go on.
        // Its own tasks only: what pages add to its tree is bounded apart (see release).
        let room = this.maxTasksPerClient - this.store.ownerSize(clientOwner(client.id));
        for (const spec of msg.tasks) {
          const job = this.jobs.get(client.id, spec.job ?? 0, client.tokenName);
          const refusal = job ? this.refusal(spec, room) : { kind: 'invalid' as const, message: `task names job ${spec.job}, which this client has not declared` };
          if (refusal) {
            this.toClient(client, { id: spec.id, ok: false, kind: refusal.kind, error: { name: 'LadleError', message: refusal.message } });
            if (job) this.jobs.submitted(job, undefined, spec.calls);
            continue;
          }
          const id = this.lifecycle.enqueue(clientOwner(client.id), client.scope, spec, this.jobs.key(job!));
          this.journal?.taskAdded(client.id, spec);
          this.jobs.submitted(job!, id, spec.calls);
          room--;
        }
        if (msg.tasks.some((t) => t.needs?.length)) this.warnWaiting(client);
        break;
      }
      case 'job':
        this.jobs.declare(client.id, client.tokenName, msg);
        break;
      case 'compared':
        this.lifecycle.compared(client.id, msg.req, msg.equal);
        break;
      case 'cancel':
        for (const clientTaskId of msg.ids) this.lifecycle.cancel(clientOwner(client.id), clientTaskId);
        break;
      case 'share': {
        const taken = Object.keys(msg.values).filter((name) => client.shared.has(name));
        // Constants stay in memory while their session lives: each token has a budget.
        const adding = Object.values(msg.values).reduce((n, v) => n + v.byteLength, 0);
        let held = 0;
        for (const c of this.clients.values()) if (c.tokenName === client.tokenName) held += c.sharedBytes;
        const tooLarge = sharedBytesError(client.sharedBytes + adding, this.limits);
        if (taken.length > 0) {
          client.replies.push({ t: 'shared', req: msg.req, error: `shared constants are set once; already set: ${taken.join(', ')}` });
        } else if (tooLarge) {
          client.replies.push({ t: 'shared', req: msg.req, error: tooLarge });
        } else if (held + adding > this.sharedQuotaBytes) {
          client.replies.push({
            t: 'shared',
            req: msg.req,
            error: `shared constants over quota: this token's sessions hold ${held} bytes, and ${adding} more would pass its ${this.sharedQuotaBytes}`,
          });
        } else {
          client.share(msg.values);
          this.journal?.shared(client.id, msg.values);
          client.replies.push({ t: 'shared', req: msg.req });
        }
        break;
      }
    }
  }

  /** Why a client's task is refused without running, if it is. */
  private refusal(spec: TaskSpec, room: number): { kind: FailureKindRefused; message: string } | undefined {
    const invalid = taskOptionsError(spec, this.limits);
    if (invalid) return { kind: 'invalid', message: invalid };
    const tooLarge = taskBytesError(spec.fn, spec.args.byteLength, this.limits);
    if (tooLarge) return { kind: 'tooLarge', message: tooLarge };
    if (room <= 0) return { kind: 'tooMany', message: `too many unfinished tasks (limit ${this.maxTasksPerClient} per client); wait for some to finish` };
    return undefined;
  }

  /** A restarted coordinator takes back what its store kept: sessions wait
   * (within their grace) for their clients, tasks are queued again in their
   * jobs, and results wait for their client to resume. */
  restore(snapshot: Snapshot): void {
    this.store.completed = snapshot.counters.completed;
    this.store.failed = snapshot.counters.failed;
    for (const s of snapshot.sessions) {
      const identity = { id: s.clientId as ClientId, scope: s.scope as ScopeId, secretHash: s.secretHash, received: s.received };
      const client = new ClientSession(s.graceMs, s.tokenName, new RateLimit(this.submitRate, 2 * this.submitRate), this.limits.frameBytes, identity);
      this.clients.set(client.id, client);
      this.scopes.set(client.scope, client);
      client.detach(() => this.removeClient(client));
    }
    this.jobs.restore(snapshot.jobs, (id) => this.clients.has(id));
    for (const { clientId, name, value } of snapshot.shared) this.clients.get(clientId)?.share({ [name]: value });
    for (const { clientId, taskId, ...spec } of snapshot.tasks) {
      const client = this.clients.get(clientId);
      if (!client) continue;
      // A job's record is written with its first task, so it is there; were it
      // not, the task still runs, counted in the session's own job.
      const job = this.jobs.get(client.id, spec.job ?? 0, client.tokenName) ?? this.jobs.get(client.id, 0, client.tokenName)!;
      const record = this.lifecycle.restore(clientOwner(client.id), client.scope, { id: taskId, ...spec }, this.jobs.key(job));
      this.jobs.adopt(job, record.id, spec.calls);
    }
    for (const r of snapshot.results) {
      const client = this.clients.get(r.clientId);
      if (!client) continue;
      client.results.push(r.ok ? { id: r.taskId, ok: true, value: r.value! } : { id: r.taskId, ok: false, ...(JSON.parse(r.error!) as { kind: undefined; error: { name: string; message: string } }) });
      this.dirtyClients.add(client);
    }
    this.schedule();
  }

  private removeClient(client: ClientSession): void {
    if (!this.clients.has(client.id)) return;
    client.end();
    this.clients.delete(client.id);
    this.scopes.delete(client.scope);
    this.scheduler.holdClient(client.id, false);
    this.dirtyClients.delete(client);
    this.journal?.sessionEnded(client.id);
    // Nobody is left to receive these results: stop the whole tree.
    this.lifecycle.cancelScope(client.scope);
    this.jobs.clientGone(client.id);
    for (const page of this.pages.values()) {
      // A page that ran its tasks replaces the Web Workers that served it; a
      // page linked to peers may have run them, or its constants, from one of them.
      const shared = page.sharedSent.delete(client.scope);
      const ran = page.ran.delete(client.scope);
      if (shared || ran || page.peerOpen) page.ws.send(encodeFrame({ t: 'unshare', scope: client.scope } satisfies ToPage));
    }
  }

  // ---- volunteer pages ----

  private addPage(ws: WebSocket, hello: PageHello, address: string): void {
    const { threads, userAgent, capabilities } = hello;
    const now = Date.now();
    const id = randomUUID() as PageId;
    const page: PageConn = {
      id,
      ws,
      threads,
      userAgent,
      connectedAt: now,
      lastSeen: now,
      cancels: [],
      results: [],
      sharedSent: new Map(),
      paused: false,
      peerOpen: false,
      links: 0,
      localDone: 0,
      releases: new RateLimit(this.pageReleaseRate, 2 * this.pageReleaseRate),
      peerSecret: randomBytes(24).toString('base64url'),
      ran: new Set(),
      capabilities,
      // Without an identity of its own, a page is a stranger for this connection only.
      seat: { identity: hello.identity === undefined ? `anon-${id.slice(0, 11)}` : publicId(hello.identity), address },
    };
    this.pages.set(page.id, page);
    this.verifier.pageJoined(page.seat);
    this.scheduler.addPage(page.id, threads);
    this.scheduler.setNeedsMet(page.id, needsMet(capabilities));
    this.listen(ws, parsePageMessage, (msg) => this.onPageMessage(page, msg));
    ws.on('close', () => this.removePage(page));
    const peer = this.peerConfig && { ...this.peerConfig, token: page.peerSecret };
    ws.send(encodeFrame({ t: 'welcome', workerId: page.id, peer, identity: page.seat.identity } satisfies ToPage));
    // A returning volunteer sees its record at once; a page nothing has checked hears of it once something is.
    const standing = this.verifier.standing(page.seat.identity);
    if (standing.checked > 0) ws.send(encodeFrame({ t: 'standing', ...standing } satisfies ToPage));
    this.schedule();
  }

  /** Pings every page; drops those silent past the deadline. */
  private beat(): void {
    const now = Date.now();
    const ping = encodeFrame({ t: 'ping' } satisfies ToPage);
    for (const page of this.pages.values()) {
      if (now - page.lastSeen > this.deadlineMs) {
        // terminate(): a page that stopped answering will not do a closing handshake.
        page.ws.terminate();
        this.removePage(page);
      } else {
        page.ws.send(ping);
      }
    }
    // Clients are pinged by WebSocket pings (the SDK's ws answers them itself).
    for (const client of this.clients.values()) {
      const ws = client.ws;
      if (!ws) continue;
      if (now - client.lastSeen > this.deadlineMs) {
        this.silenced.add(ws);
        ws.terminate();
      } else {
        ws.ping();
      }
    }
    // Steal hints that went unanswered expire: look again.
    this.schedule();
  }

  private onPageMessage(page: PageConn, msg: PageMessage): void {
    page.lastSeen = Date.now();
    if (msg.t === 'pong') return;
    if (msg.t === 'capacity') {
      page.threads = msg.threads;
      page.paused = msg.paused;
      // Unstarted tasks of a paused page are queued again for others; the page drops them.
      for (const id of this.scheduler.setThreads(page.id, msg.paused ? 0 : msg.threads)) this.tellCancel(page.id, id);
      this.schedule();
      return;
    }
    if (msg.t === 'peer') {
      page.peerOpen = msg.open && this.peerConfig !== undefined;
      this.scheduler.setPeer(page.id, page.peerOpen);
      this.schedule();
      return;
    }
    this.onReport(page, msg);
  }

  private onReport(page: PageConn, msg: PageReport): void {
    // A page reports only on tasks it was sent: a report naming far more is
    // not a page's, and would cost a lookup per id.
    const bound = (this.scheduler.page(page.id)?.assigned.size ?? 0) + REPORT_SLACK;
    for (const [what, n] of [['started', msg.started.length], ['results', msg.results.length], ['lost', msg.lost.length]] as const) {
      if (n > bound) throw new ProtocolError(`report.${what} names ${n} tasks; this page holds at most ${bound}`);
    }
    // Ids a page reports name grid tasks; unknown ones match nothing.
    for (const id of msg.started as TaskId[]) this.lifecycle.started(id, page.id);
    for (const id of (msg.spawning ?? []) as TaskId[]) {
      const record = this.store.get(id);
      if (record && this.scheduler.holdersOf(id).includes(page.id)) record.spawned = true;
    }
    for (const spec of msg.submit) this.release(page, spec);
    for (const pageTaskId of msg.cancel) this.lifecycle.cancel(pageOwner(page.id), pageTaskId);
    for (const outcome of msg.results) this.onResult(page, outcome);
    for (const id of msg.lost as TaskId[]) this.lifecycle.lost(id, page.id);
    // (Results of tasks it holds count too: see Scheduler.finish.)
    if ((msg.localDone ?? 0) > 0 || (msg.returned?.length ?? 0) > 0) this.scheduler.progressed(page.id);
    this.onPeerReport(page, msg);
    this.scheduler.setLoad(page.id, msg);
    this.schedule();
  }

  /** A subtask a page hands to the grid joins the tree of the task it
   * descends from, which the page must be running; within the page's and the
   * tree's bounds. What is refused goes back to the page as an error outcome:
   * a page can neither add to a tree it does not run nor end a client's session. */
  private release(page: PageConn, spec: ReleasedTask): void {
    const refuse = (outcome: TaskOutcome) => {
      page.results.push(outcome);
      this.markPage(page);
    };
    const scope = this.runningScope(page, spec.under);
    if (scope === undefined) return refuse(refusedOutcome(spec.id, 'its parent is not a task this page is running'));
    // A peer's subtask may outlive its client on the coordinator's record.
    const client = this.scopes.get(scope);
    if (!client) return refuse(cancelledOutcome(spec.id, 'the client that started this task tree has left'));
    if (!page.releases.take(1)) return refuse(refusedOutcome(spec.id, `this page released subtasks faster than ${this.pageReleaseRate} per second`));
    if (this.store.ownerSize(pageOwner(page.id)) >= this.maxTasksPerPage) {
      return refuse(refusedOutcome(spec.id, `this page has ${this.maxTasksPerPage} unfinished subtasks on the grid already`));
    }
    if (this.store.scopeSize(scope) - this.store.ownerSize(clientOwner(client.id)) >= this.maxTasksPerClient) {
      return refuse(refusedOutcome(spec.id, `its task tree has ${this.maxTasksPerClient} unfinished subtasks from pages already`));
    }
    // A subtask counts against its parent's job (a peer's subtask, against its client's first job).
    const parent = 'task' in spec.under ? this.scheduler.jobOf(spec.under.task as TaskId) : undefined;
    // It is verified as its parent is, whatever the page says (a page cannot
    // multiply the grid's work, nor skip a check); a subtask lent over WebRTC
    // descends from an unverified task (verified ones are never lent).
    const verify = ('task' in spec.under ? this.store.get(spec.under.task as TaskId)?.spec.verify : undefined) ?? 'off';
    this.lifecycle.enqueue(pageOwner(page.id), scope, { ...spec, verify }, parent ?? { client: client.id, job: '0' });
    this.peerCounts.tasksReleased++;
  }

  /** The tree of a task `page` is running: a grid task it holds and started,
   * or a subtask another page lent it (as that page reported). */
  private runningScope(page: PageConn, ref: TaskRef): ScopeId | undefined {
    if ('from' in ref) return this.offloads.scopeHeld(page.id, ref.from, ref.id);
    const id = ref.task as TaskId;
    return this.scheduler.runs(page.id, id) ? this.store.get(id)?.scope : undefined;
  }

  /** Keeps the record of which page holds which page's subtasks, and the peer counters. */
  private onPeerReport(page: PageConn, msg: PageReport): void {
    for (const { to, ids, under } of msg.offload ?? []) {
      if (!this.pages.has(to)) {
        // Handed to a page that has already left: take them back at once.
        page.ws.send(encodeFrame({ t: 'peerGone', peer: to } satisfies ToPage));
        continue;
      }
      this.offloads.offloaded(page.id, to, ids, under?.map((ref) => this.runningScope(page, ref)));
      this.peerCounts.tasksOffloaded += ids.length;
    }
    if (msg.returned) this.offloads.returned(page.id, msg.returned);
    for (const { from, linked } of msg.stole ?? []) {
      this.scheduler.stealAnswered(page.id, from as PageId, linked);
      if (!linked) this.peerCounts.linksFailed++;
    }
    if (msg.links !== undefined) page.links = msg.links;
    this.peerCounts.bytesSent += msg.peerBytes ?? 0;
    this.peerCounts.tasksCopied += msg.copied ?? 0;
    this.peerCounts.stealsRefused += msg.refused ?? 0;
    page.localDone += msg.localDone ?? 0;
  }

  private onResult(page: PageConn, outcome: TaskOutcome): void {
    if (outcome.ok && outcome.value.byteLength > this.limits.resultBytes) {
      outcome = {
        id: outcome.id,
        ok: false,
        kind: 'tooLarge',
        error: { name: 'ResultTooLargeError', message: `the task's result is ${outcome.value.byteLength} bytes; the limit is ${this.limits.resultBytes}` },
      };
    }
    this.lifecycle.result(page.id, page.seat, outcome);
  }

  private removePage(page: PageConn): void {
    if (!this.pages.delete(page.id)) return;
    this.dirtyPages.delete(page);
    // Subtasks this page spawned have lost their parent; the parent reruns
    // elsewhere and spawns them anew.
    this.lifecycle.cancelOwned(pageOwner(page.id));
    const peerGone = encodeFrame({ t: 'peerGone', peer: page.id } satisfies ToPage);
    for (const other of this.offloads.pageGone(page.id)) this.pages.get(other)?.ws.send(peerGone);
    this.onPageGone(page.id);
    this.verifier.pageLeft(page.seat);
    this.lifecycle.pageLost(page.id);
    this.schedule();
  }

  /** An outcome for a client, kept in the store until the client acknowledges it. */
  private toClient(client: ClientSession, outcome: TaskOutcome): void {
    client.results.push(outcome);
    this.journal?.result(client.id, outcome);
    this.markClient(client);
  }

  private tellCancel(pageId: PageId, id: TaskId): void {
    const page = this.pages.get(pageId);
    if (!page) return;
    page.cancels.push(id);
    this.markPage(page);
  }

  private deliver(record: TaskRecord, outcome: TaskOutcome): void {
    if (record.owner.kind === 'client') {
      const client = this.clients.get(record.owner.id);
      if (client) this.toClient(client, outcome);
    } else {
      const page = this.pages.get(record.owner.id);
      if (!page) return;
      page.results.push(outcome);
      this.markPage(page);
    }
  }

  /** Tells a client, once, that its verified tasks wait for `pages` distinct pages (`joined` are). */
  private warnVerify(clientId: ClientId, pages: number, joined: number): void {
    const client = this.clients.get(clientId);
    if (!client || this.warnedVerify.has(client)) return;
    this.warnedVerify.add(client);
    client.replies.push({ t: 'waiting', needs: {}, verify: { pages, joined } });
    this.markClient(client);
  }

  // ---- batching: one frame per peer per turn of the event loop ----

  private markClient(client: ClientSession): void {
    this.dirtyClients.add(client);
    this.schedule();
  }

  private markPage(page: PageConn): void {
    this.dirtyPages.add(page);
    this.schedule();
  }

  private schedule(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushQueued = false;
    const { send, revoke, hints, releases } = this.draining ? NOTHING_TO_DISPATCH : this.scheduler.dispatch();
    for (const [pageId, ids] of revoke) for (const id of ids) this.tellCancel(pageId, id);
    for (const [pageId, { from, max }] of hints) {
      // The giver first: it answers only steals it has heard of from here.
      // With what the thief has: the giver lends it only subtasks whose needs it meets.
      const has = [...needsMet(this.pages.get(pageId)!.capabilities)];
      this.pages.get(from)!.ws.send(encodeFrame({ t: 'lend', to: pageId, max, has } satisfies ToPage));
      this.pages.get(pageId)!.ws.send(encodeFrame({ t: 'steal', from, max } satisfies ToPage));
    }
    for (const [pageId, max] of releases) this.pages.get(pageId)!.ws.send(encodeFrame({ t: 'release', max } satisfies ToPage));
    for (const [pageId, ids] of send) {
      const page = this.pages.get(pageId)!;
      const tasks = ids.map((id) => this.store.get(id)!.spec);
      for (const task of tasks) page.ran.add(task.scope as ScopeId);
      this.sendShared(page, tasks);
      page.ws.send(encodeFrame({ t: 'tasks', tasks } satisfies ToPage));
    }
    const moved = this.verifier.trust.changed();
    if (moved.length > 0) {
      const changed = new Set(moved);
      for (const page of this.pages.values()) {
        if (changed.has(page.seat.identity)) page.ws.send(encodeFrame({ t: 'standing', ...this.verifier.standing(page.seat.identity) } satisfies ToPage));
      }
    }
    for (const page of this.dirtyPages) {
      if (page.cancels.length > 0) page.ws.send(encodeFrame({ t: 'cancel', ids: page.cancels } satisfies ToPage));
      if (page.results.length > 0) page.ws.send(encodeFrame({ t: 'results', results: page.results } satisfies ToPage));
      page.cancels = [];
      page.results = [];
    }
    this.dirtyPages.clear();
    // What a client hears of (results, acks) is in the store first.
    if (this.journal && !this.journal.commit()) return;
    for (const client of this.dirtyClients) {
      client.flush();
      // Results pile up for a client away: past the bound its queue waits for it.
      if (!client.ws && client.retainedBytes > this.heldResultBytes) this.scheduler.holdClient(client.id, true);
    }
    this.dirtyClients.clear();
  }

  /** Sends a page the constants of the tasks' scopes it does not have yet,
   * ahead of the tasks on the same socket, so they are readable at once. */
  private sendShared(page: PageConn, tasks: TaskSpec[]): void {
    for (const task of tasks) {
      const scope = task.scope as ScopeId;
      const client = this.scopes.get(scope);
      if (!client || client.shared.size === 0) continue;
      let sent = page.sharedSent.get(scope);
      if (sent?.size === client.shared.size) continue;
      if (!sent) page.sharedSent.set(scope, (sent = new Set()));
      const values: Record<string, Uint8Array> = {};
      for (const [name, value] of client.shared) {
        if (sent.has(name)) continue;
        values[name] = value;
        sent.add(name);
      }
      page.ws.send(encodeFrame({ t: 'shared', scope, values } satisfies ToPage));
    }
  }
}

function refusedOutcome(id: number, message: string): TaskOutcome {
  return { id, ok: false, error: { name: 'RefusedError', message: `the coordinator refused this subtask: ${message}` } };
}
