// The page gateway: everything a volunteer page says and hears. It admits a
// page (the join token of a private grid), keeps it honest with heartbeats,
// turns its reports into task lifecycle calls (started, results, lost,
// subtasks released to the grid, cancels) and its peer reports into the
// record of offloads (offload-record.ts) and the peer counters, and sends
// each page its tasks with the shared constants they read, its cancels, its
// subtasks' results and its standing, batched into the hub's turn. A lone
// task for an idle page may go over a task lane instead (task-lanes.ts).
import { randomBytes, randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import {
  CloseCode,
  ProtocolError,
  encodeFrame,
  parseLaneMessage,
  parsePageMessage,
  type FailureKindRefused,
  type LaneHello,
  type LaneMessage,
  type PageHello,
  type PageMessage,
  type PageReport,
  type PeerConfig,
  type ReleasedTask,
  type TaskOutcome,
  type TaskRef,
  type TaskSpec,
  type ToLane,
  type ToPage,
} from '../protocol/messages.ts';
import { taskBytesError, withinResultLimit, type Limits } from '../protocol/limits.ts';
import { RateLimit, sameSecret } from './auth.ts';
import type { Dispatch } from './scheduler.ts';
import { OffloadRecord } from './offload-record.ts';
import { clientOwner, pageOwner } from './task-store.ts';
import type { ClientId, PageId, ScopeId, TaskId } from './ids.ts';
import type { LaneStats, PeerStats, WorkerStats } from './stats.ts';
import { needsMet, type Capabilities } from '../protocol/needs.ts';
import type { PageSeat } from './verifier.ts';
import { publicId } from './page-identity.ts';
import { cancelledOutcome, type TaskLifecycle } from './task-lifecycle.ts';
import { listen } from './socket-frames.ts';
import { TaskLanes, type Lane } from './task-lanes.ts';

export interface PageGatewayOptions {
  onTrusted: (ws: WebSocket) => void;
  limits: Limits;
  /** See HubOptions for each of these. */
  joinToken?: string;
  pageReleaseRate: number;
  maxTasksPerPage: number;
  maxTasksPerClient: number;
  deadlineMs: number;
  peer?: PeerConfig;
  onPageGone: (id: PageId) => void;
}

/** What the page gateway reads of the clients' sessions: a task tree's client and its constants. */
export interface ClientScopes {
  byScope(scope: ScopeId): { id: ClientId; shared: ReadonlyMap<string, Uint8Array> } | undefined;
}

/** Ids a page may name in one report beyond the tasks it holds: results and
 * starts of tasks taken from it while the report was on its way. */
const REPORT_SLACK = 1024;

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
  /** Its Web Workers open task lanes. */
  lanes: boolean;
}

export class PageGateway {
  private readonly pages = new Map<PageId, PageConn>();
  /** Pages with cancels or results to send at the end of this turn. */
  private readonly dirty = new Set<PageConn>();
  private readonly offloads = new OffloadRecord();
  private readonly taskLanes = new TaskLanes();
  private readonly peerCounts = { tasksOffloaded: 0, bytesSent: 0, tasksReleased: 0, linksFailed: 0, tasksCopied: 0, stealsRefused: 0 };

  constructor(
    private readonly options: PageGatewayOptions,
    private readonly lifecycle: TaskLifecycle,
    private readonly clients: ClientScopes,
    /** Asks for a flush at the end of this turn (see Hub). */
    private readonly schedule: () => void,
  ) {}

  get size(): number {
    return this.pages.size;
  }

  seatOf(id: PageId): PageSeat | undefined {
    return this.pages.get(id)?.seat;
  }

  seats(): PageSeat[] {
    return [...this.pages.values()].map((page) => page.seat);
  }

  /** Whether a page is connected and `secret` is its PeerServer secret. */
  isPeerOf(id: string, secret: string): boolean {
    const page = this.pages.get(id as PageId);
    return page !== undefined && sameSecret(page.peerSecret, secret);
  }

  /** A socket said a page's hello from `address`. */
  admit(ws: WebSocket, hello: PageHello, address: string): void {
    const { joinToken } = this.options;
    if (joinToken !== undefined && !sameSecret(hello.joinToken ?? '', joinToken)) {
      ws.close(CloseCode.INVALID_JOIN_TOKEN, 'invalid join token: open the join URL the coordinator printed');
      return;
    }
    this.options.onTrusted(ws);
    this.addPage(ws, hello, address);
  }

  /** A socket said a lane's hello (see LaneHello): it serves the page and
   * client its key was granted for, or is closed. */
  admitLane(ws: WebSocket, hello: LaneHello): void {
    const lane = this.taskLanes.open(ws, hello.key, hello.nonce, (id) => {
      const page = this.pages.get(id);
      return page ? 2 * page.threads + 4 : 0;
    });
    if (typeof lane === 'string') {
      ws.close(CloseCode.PROTOCOL, lane);
      return;
    }
    const page = this.pages.get(lane.page)!;
    this.options.onTrusted(ws);
    listen(ws, parseLaneMessage, (msg) => this.onLaneMessage(page, lane, msg));
    ws.on('close', () => this.laneClosed(page, lane));
  }

  perWorker(now: number): WorkerStats[] {
    const { scheduler, verifier } = this.lifecycle;
    return [...this.pages.values()].map((p) => {
      const slots = scheduler.page(p.id);
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
        trust: verifier.standing(p.seat.identity),
      };
    });
  }

  laneStats(): LaneStats {
    return this.taskLanes.stats();
  }

  peerStats(): PeerStats {
    let pages = 0;
    let links = 0;
    for (const p of this.pages.values()) {
      if (p.peerOpen) pages++;
      links += p.links;
    }
    return { pages, links, tasksOnPeers: this.offloads.onPeers, ...this.peerCounts };
  }

  /** Pings every page; drops those silent past the deadline. */
  beat(now: number): void {
    const ping = encodeFrame({ t: 'ping' } satisfies ToPage);
    for (const page of this.pages.values()) {
      if (now - page.lastSeen > this.options.deadlineMs) {
        // terminate(): a page that stopped answering will not do a closing handshake.
        page.ws.terminate();
        this.removePage(page);
      } else {
        page.ws.send(ping);
      }
    }
  }

  /** Shutting down: pages give back what they hold unstarted. */
  drain(): void {
    for (const page of this.pages.values()) for (const id of this.lifecycle.scheduler.setThreads(page.id, 0)) this.tellCancel(page.id, id);
  }

  closeAll(code: number, reason: string): void {
    for (const p of this.pages.values()) {
      for (const lane of this.taskLanes.pageGone(p.id)) lane.ws.close(code, reason);
      p.ws.close(code, reason);
    }
  }

  /** Tells a page to drop a task it holds. */
  tellCancel(pageId: PageId, id: TaskId): void {
    const page = this.pages.get(pageId);
    if (!page) return;
    // A lane task the page has not heard of: it must know which worker to stop.
    this.notice(page, id);
    page.cancels.push(id);
    this.mark(page);
  }

  /** The outcome of a subtask a page released to the grid. */
  deliver(pageId: PageId, outcome: TaskOutcome): void {
    const page = this.pages.get(pageId);
    if (!page) return;
    page.results.push(outcome);
    this.mark(page);
  }

  /** A client's session ended: pages forget its constants and Web Workers. */
  unshare(scope: ScopeId): void {
    for (const page of this.pages.values()) {
      // A page that ran its tasks replaces the Web Workers that served it; a
      // page linked to peers may have run them, or its constants, from one of them.
      const shared = page.sharedSent.delete(scope);
      const ran = page.ran.delete(scope);
      if (shared || ran || page.peerOpen) page.ws.send(encodeFrame({ t: 'unshare', scope } satisfies ToPage));
    }
    for (const lane of this.taskLanes.unshare(scope)) lane.ws.close(1000, 'its client left');
  }

  /** Sends what this turn's dispatch decided, then each page's cancels and results. */
  flush({ send, revoke, hints, releases }: Dispatch<PageId, TaskId>): void {
    const { store, verifier } = this.lifecycle;
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
      const tasks = ids.map((id) => store.get(id)!.spec);
      for (const task of tasks) page.ran.add(task.scope as ScopeId);
      if (this.overLane(page, tasks)) continue;
      if (page.lanes) this.grantLanes(page, tasks);
      this.sendShared(page, tasks);
      page.ws.send(encodeFrame({ t: 'tasks', tasks } satisfies ToPage));
    }
    const moved = verifier.trust.changed();
    if (moved.length > 0) {
      const changed = new Set(moved);
      for (const page of this.pages.values()) {
        if (changed.has(page.seat.identity)) page.ws.send(encodeFrame({ t: 'standing', ...verifier.standing(page.seat.identity) } satisfies ToPage));
      }
    }
    for (const page of this.dirty) {
      if (page.cancels.length > 0) page.ws.send(encodeFrame({ t: 'cancel', ids: page.cancels } satisfies ToPage));
      if (page.results.length > 0) page.ws.send(encodeFrame({ t: 'results', results: page.results } satisfies ToPage));
      page.cancels = [];
      page.results = [];
    }
    this.dirty.clear();
  }

  private mark(page: PageConn): void {
    this.dirty.add(page);
    this.schedule();
  }

  private addPage(ws: WebSocket, hello: PageHello, address: string): void {
    const { threads, userAgent, capabilities } = hello;
    const { scheduler, verifier } = this.lifecycle;
    const { pageReleaseRate, peer: peerConfig } = this.options;
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
      releases: new RateLimit(pageReleaseRate, 2 * pageReleaseRate),
      peerSecret: randomBytes(24).toString('base64url'),
      ran: new Set(),
      capabilities,
      // Without an identity of its own, a page is a stranger for this connection only.
      seat: { identity: hello.identity === undefined ? `anon-${id.slice(0, 11)}` : publicId(hello.identity), address },
      lanes: hello.lanes === true,
    };
    this.pages.set(page.id, page);
    verifier.pageJoined(page.seat);
    scheduler.addPage(page.id, threads);
    scheduler.setNeedsMet(page.id, needsMet(capabilities));
    listen(ws, parsePageMessage, (msg) => this.onMessage(page, msg));
    ws.on('close', () => this.removePage(page));
    const peer = peerConfig && { ...peerConfig, token: page.peerSecret };
    ws.send(encodeFrame({ t: 'welcome', workerId: page.id, peer, identity: page.seat.identity, limits: this.options.limits } satisfies ToPage));
    // A returning volunteer sees its record at once; a page nothing has checked hears of it once something is.
    const standing = verifier.standing(page.seat.identity);
    if (standing.checked > 0) ws.send(encodeFrame({ t: 'standing', ...standing } satisfies ToPage));
    this.schedule();
  }

  private onMessage(page: PageConn, msg: PageMessage): void {
    const { scheduler } = this.lifecycle;
    page.lastSeen = Date.now();
    if (msg.t === 'pong') return;
    if (msg.t === 'capacity') {
      page.threads = msg.threads;
      page.paused = msg.paused;
      // Unstarted tasks of a paused page are queued again for others; the page drops them.
      for (const id of scheduler.setThreads(page.id, msg.paused ? 0 : msg.threads)) this.tellCancel(page.id, id);
      this.schedule();
      return;
    }
    if (msg.t === 'peer') {
      page.peerOpen = msg.open && this.options.peer !== undefined;
      scheduler.setPeer(page.id, page.peerOpen);
      this.schedule();
      return;
    }
    this.onReport(page, msg);
  }

  private onReport(page: PageConn, msg: PageReport): void {
    const { scheduler, store } = this.lifecycle;
    // A page reports only on tasks it was sent: a report naming far more is
    // not a page's, and would cost a lookup per id.
    const bound = (scheduler.page(page.id)?.assigned.size ?? 0) + REPORT_SLACK;
    for (const [what, n] of [['started', msg.started.length], ['results', msg.results.length], ['lost', msg.lost.length]] as const) {
      if (n > bound) throw new ProtocolError(`report.${what} names ${n} tasks; this page holds at most ${bound}`);
    }
    // Ids a page reports name grid tasks; unknown ones match nothing.
    for (const id of msg.started as TaskId[]) this.lifecycle.started(id, page.id);
    for (const id of (msg.spawning ?? []) as TaskId[]) {
      const record = store.get(id);
      if (record && scheduler.holdersOf(id).includes(page.id)) record.spawned = true;
    }
    for (const spec of msg.submit) this.release(page, spec);
    for (const pageTaskId of msg.cancel) this.lifecycle.cancel(pageOwner(page.id), pageTaskId);
    for (const outcome of msg.results) this.onResult(page, outcome);
    for (const id of msg.lost as TaskId[]) this.lifecycle.lost(id, page.id);
    // (Results of tasks it holds count too: see Scheduler.finish.)
    if ((msg.localDone ?? 0) > 0 || (msg.returned?.length ?? 0) > 0) scheduler.progressed(page.id);
    this.onPeerReport(page, msg);
    scheduler.setLoad(page.id, msg);
    this.schedule();
  }

  /** A subtask a page hands to the grid joins the tree of the task it
   * descends from, which the page must be running; within the page's and the
   * tree's bounds. What is refused goes back to the page as an error outcome:
   * a page can neither add to a tree it does not run nor end a client's session. */
  private release(page: PageConn, spec: ReleasedTask): void {
    const { scheduler, store } = this.lifecycle;
    const { pageReleaseRate, maxTasksPerPage, maxTasksPerClient } = this.options;
    const refuse = (outcome: TaskOutcome) => this.deliver(page.id, outcome);
    const scope = this.runningScope(page, spec.under);
    if (scope === undefined) return refuse(refusedOutcome(spec.id, 'its parent is not a task this page is running'));
    // A peer's subtask may outlive its client on the coordinator's record.
    const client = this.clients.byScope(scope);
    if (!client) return refuse(cancelledOutcome(spec.id, 'the client that started this task tree has left'));
    // The limit a client's tasks keep to (an honest page keeps such a subtask and runs it itself).
    const tooLarge = taskBytesError(spec.fn, spec.args.byteLength, this.options.limits);
    if (tooLarge) return refuse(refusedOutcome(spec.id, tooLarge, 'tooLarge'));
    if (!page.releases.take(1)) return refuse(refusedOutcome(spec.id, `this page released subtasks faster than ${pageReleaseRate} per second`));
    if (store.ownerSize(pageOwner(page.id)) >= maxTasksPerPage) {
      return refuse(refusedOutcome(spec.id, `this page has ${maxTasksPerPage} unfinished subtasks on the grid already`));
    }
    if (store.scopeSize(scope) - store.ownerSize(clientOwner(client.id)) >= maxTasksPerClient) {
      return refuse(refusedOutcome(spec.id, `its task tree has ${maxTasksPerClient} unfinished subtasks from pages already`));
    }
    // A subtask counts against its parent's job (a peer's subtask, against its client's first job).
    const parent = 'task' in spec.under ? scheduler.jobOf(spec.under.task as TaskId) : undefined;
    // It is verified as its parent is, whatever the page says (a page cannot
    // multiply the grid's work, nor skip a check); a subtask lent over WebRTC
    // descends from an unverified task (verified ones are never lent).
    const verify = ('task' in spec.under ? store.get(spec.under.task as TaskId)?.spec.verify : undefined) ?? 'off';
    this.lifecycle.enqueue(pageOwner(page.id), scope, { ...spec, verify }, parent ?? { client: client.id, job: '0' });
    this.peerCounts.tasksReleased++;
  }

  /** The tree of a task `page` is running: a grid task it holds and started,
   * or a subtask another page lent it (as that page reported). */
  private runningScope(page: PageConn, ref: TaskRef): ScopeId | undefined {
    if ('from' in ref) return this.offloads.scopeHeld(page.id, ref.from, ref.id);
    const id = ref.task as TaskId;
    return this.lifecycle.scheduler.runs(page.id, id) ? this.lifecycle.store.get(id)?.scope : undefined;
  }

  /** Keeps the record of which page holds which page's subtasks, and the peer counters. */
  private onPeerReport(page: PageConn, msg: PageReport): void {
    for (const { to, ids, under } of msg.offload ?? []) {
      if (!this.pages.has(to as PageId)) {
        // Handed to a page that has already left: take them back at once.
        page.ws.send(encodeFrame({ t: 'peerGone', peer: to } satisfies ToPage));
        continue;
      }
      this.offloads.offloaded(page.id, to, ids, under?.map((ref) => this.runningScope(page, ref)));
      this.peerCounts.tasksOffloaded += ids.length;
    }
    if (msg.returned) this.offloads.returned(page.id, msg.returned);
    for (const { from, linked } of msg.stole ?? []) {
      this.lifecycle.scheduler.stealAnswered(page.id, from as PageId, linked);
      if (!linked) this.peerCounts.linksFailed++;
    }
    if (msg.links !== undefined) page.links = msg.links;
    this.peerCounts.bytesSent += msg.peerBytes ?? 0;
    this.peerCounts.tasksCopied += msg.copied ?? 0;
    this.peerCounts.stealsRefused += msg.refused ?? 0;
    page.localDone += msg.localDone ?? 0;
  }

  private onResult(page: PageConn, outcome: TaskOutcome): void {
    this.lifecycle.result(page.id, page.seat, withinResultLimit(outcome, this.options.limits));
  }

  private removePage(page: PageConn): void {
    if (!this.pages.delete(page.id)) return;
    this.dirty.delete(page);
    for (const lane of this.taskLanes.pageGone(page.id)) lane.ws.close(1000, 'its page left');
    // Subtasks this page spawned have lost their parent; the parent reruns
    // elsewhere and spawns them anew.
    this.lifecycle.cancelOwned(pageOwner(page.id));
    const peerGone = encodeFrame({ t: 'peerGone', peer: page.id } satisfies ToPage);
    for (const other of this.offloads.pageGone(page.id)) this.pages.get(other as PageId)?.ws.send(peerGone);
    this.options.onPageGone(page.id);
    this.lifecycle.verifier.pageLeft(page.seat);
    this.lifecycle.pageLost(page.id);
    this.schedule();
  }

  /** A lone task for a page that holds nothing else goes over an idle lane
   * of its client, when the page has one (see LaneHello); the page hears of
   * it as `laned`. A task with a timeout stays with the page, whose clock
   * enforces it. */
  private overLane(page: PageConn, tasks: TaskSpec[]): boolean {
    if (!page.lanes || tasks.length !== 1 || tasks[0].timeout !== undefined) return false;
    const [task] = tasks;
    const { scheduler } = this.lifecycle;
    const slots = scheduler.page(page.id);
    if (!slots || slots.assigned.size !== 1 || slots.local > 0) return false;
    const scope = task.scope as ScopeId;
    const lane = this.taskLanes.idle(page.id, scope, task.bundle, this.clients.byScope(scope)?.shared.size ?? 0);
    if (!lane) return false;
    const id = task.id as TaskId;
    this.taskLanes.sent(lane, task, () => this.notice(page, id));
    // Started from here: nothing takes it back from the page unstarted.
    scheduler.started(id, page.id);
    lane.ws.send(encodeFrame({ t: 'tasks', tasks } satisfies ToLane));
    return true;
  }

  /** Tells a page of a lane task it has not heard of (see `laned`), if it
   * is one: it is running for the client from here (unless it was revoked:
   * then the page stops it). */
  private notice(page: PageConn, id: TaskId): void {
    const untold = this.taskLanes.takeNotice(id);
    if (!untold || this.pages.get(page.id) !== page) return;
    page.ws.send(encodeFrame({ t: 'laned', nonce: untold.lane.nonce, tasks: [untold.spec] } satisfies ToPage));
    this.lifecycle.started(id, page.id);
    this.schedule();
  }

  /** Lane keys for the clients of these tasks this page has none for yet. */
  private grantLanes(page: PageConn, tasks: TaskSpec[]): void {
    for (const task of tasks) {
      const scope = task.scope as ScopeId;
      const key = this.taskLanes.grant(page.id, scope);
      if (key !== undefined) page.ws.send(encodeFrame({ t: 'lane', scope, key } satisfies ToPage));
    }
  }

  /** A lane answers only for tasks it was sent; its `ready` says what the worker holds. */
  private onLaneMessage(page: PageConn, lane: Lane, msg: LaneMessage): void {
    if (msg.t === 'ready') {
      lane.bundles = new Set(msg.bundles);
      lane.shared = msg.shared;
      return;
    }
    if (msg.t === 'spawning') {
      if (!lane.outstanding.has(msg.id as TaskId)) throw new ProtocolError(`a lane said task ${msg.id} spawns, which it was not sent or answered already`);
      this.notice(page, msg.id as TaskId);
      return;
    }
    for (const outcome of msg.results) {
      const id = outcome.id as TaskId;
      if (!this.taskLanes.answered(lane, id)) throw new ProtocolError(`a lane answered task ${id}, which it was not sent or answered already`);
      this.lifecycle.started(id, page.id);
      this.onResult(page, outcome);
    }
    page.lastSeen = Date.now();
    this.schedule();
  }

  /** A lane closed: what it left unanswered, its page settles (see `laneClosed`), having heard of each. */
  private laneClosed(page: PageConn, lane: Lane): void {
    const ids = [...lane.outstanding.keys()];
    for (const id of ids) this.notice(page, id);
    this.taskLanes.closed(lane);
    if (ids.length === 0 || this.pages.get(page.id) !== page) return;
    page.ws.send(encodeFrame({ t: 'laneClosed', nonce: lane.nonce, ids } satisfies ToPage));
  }

  /** Sends a page the constants of the tasks' scopes it does not have yet,
   * ahead of the tasks on the same socket, so they are readable at once. */
  private sendShared(page: PageConn, tasks: TaskSpec[]): void {
    for (const task of tasks) {
      const scope = task.scope as ScopeId;
      const client = this.clients.byScope(scope);
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

function refusedOutcome(id: number, message: string, kind?: FailureKindRefused): TaskOutcome {
  return { id, ok: false, ...(kind && { kind }), error: { name: 'RefusedError', message: `the coordinator refused this subtask: ${message}` } };
}
