// The client gateway: everything an SDK client's session says and hears.
// It admits a client (a token, or a session's secret to resume it), turns
// its frames into task lifecycle calls (submit, cancel, the answer to a
// compare) and session state (shared constants, jobs), and holds what goes
// back to it until the hub's turn flushes it. Its sessions outlive their
// sockets (client-session.ts); a session that ends takes its task tree with
// it. It knows no page: the page gateway reads its sessions by scope.
import type { WebSocket } from 'ws';
import {
  CLIENT_CLOSED,
  CloseCode,
  parseClientMessage,
  type ClientHello,
  type ClientMessage,
  type FailureKindRefused,
  type TaskOutcome,
  type TaskSpec,
} from '../protocol/messages.ts';
import { sharedBytesError, taskBytesError, taskOptionsError, type Limits } from '../protocol/limits.ts';
import { ClientSession } from './client-session.ts';
import type { Journal } from './journal.ts';
import type { Snapshot } from './store/store.ts';
import { RateLimit, type TokenGate } from './auth.ts';
import type { JobBook } from './jobs.ts';
import { clientOwner } from './task-store.ts';
import type { ClientId, ScopeId } from './ids.ts';
import type { CompareQuestion, TaskLifecycle } from './task-lifecycle.ts';
import { FloodError, listen } from './socket-frames.ts';

export interface ClientGatewayOptions {
  gate: TokenGate;
  onTrusted: (ws: WebSocket) => void;
  limits: Limits;
  /** See HubOptions for each of these. */
  submitRate: number;
  maxTasksPerClient: number;
  sharedQuotaBytes: number;
  deadlineMs: number;
  abandonedGraceMs: number;
  heldResultBytes: number;
  journal?: Journal;
}

export class ClientGateway {
  private readonly sessions = new Map<string, ClientSession>();
  /** Sessions by the scope id pages know their trees by. */
  private readonly scopes = new Map<ScopeId, ClientSession>();
  /** Sockets closed here for their silence (a cut, not an exit). */
  private readonly silenced = new WeakSet<WebSocket>();
  /** Needs (as in Scheduler.waitingForNeeds) each client has been told no page meets. */
  private readonly warnedNeeds = new WeakMap<ClientSession, Set<string>>();
  /** Clients told that their verified tasks wait for more distinct pages. */
  private readonly warnedVerify = new WeakSet<ClientSession>();
  /** Sessions with something to send at the end of this turn. */
  private readonly dirty = new Set<ClientSession>();
  private readonly journal: Journal | undefined;

  constructor(
    private readonly options: ClientGatewayOptions,
    private readonly lifecycle: TaskLifecycle,
    private readonly jobs: JobBook,
    /** Asks for a flush at the end of this turn (see Hub). */
    private readonly schedule: () => void,
    /** A session ended: pages forget its constants and Web Workers. */
    private readonly onEnded: (scope: ScopeId) => void,
  ) {
    this.journal = options.journal;
  }

  get size(): number {
    return this.sessions.size;
  }

  has(id: ClientId): boolean {
    return this.sessions.has(id);
  }

  /** The session whose task tree is `scope`. */
  byScope(scope: ScopeId): ClientSession | undefined {
    return this.scopes.get(scope);
  }

  /** A socket said a client's hello from `address`: it resumes a session or opens one. */
  admit(ws: WebSocket, hello: ClientHello, address: string): void {
    // A client resuming its session proves itself with the session's
    // secret, which cannot be guessed: a lockout of its address (by a
    // guesser behind the same NAT) does not cut it off.
    const session = hello.resume && this.sessions.get(hello.resume.clientId);
    if (session && session.verifies(hello.resume!.secret)) {
      this.options.onTrusted(ws);
      this.addClient(ws, hello, session.tokenName);
      return;
    }
    const check = this.options.gate.check(address, hello.token);
    if (!check.ok) {
      if (check.reason === 'throttled') ws.close(CloseCode.THROTTLED, `too many failed attempts; retry in ${check.retryAfter} s`);
      else ws.close(CloseCode.INVALID_TOKEN, 'invalid token');
      return;
    }
    this.options.onTrusted(ws);
    this.addClient(ws, hello, check.name);
  }

  /** A restarted coordinator takes back what its store kept: sessions wait
   * (within their grace) for their clients, tasks are queued again in their
   * jobs, and results wait for their client to resume. */
  restore(snapshot: Snapshot): void {
    const { submitRate, limits } = this.options;
    for (const s of snapshot.sessions) {
      const identity = { id: s.clientId as ClientId, scope: s.scope as ScopeId, secretHash: s.secretHash, received: s.received };
      const client = new ClientSession(s.graceMs, s.tokenName, new RateLimit(submitRate, 2 * submitRate), limits.frameBytes, identity);
      this.sessions.set(client.id, client);
      this.scopes.set(client.scope, client);
      client.detach(() => this.removeClient(client));
    }
    this.jobs.restore(snapshot.jobs, (id) => this.sessions.has(id));
    const answered = new Set<string>();
    for (const { clientId, name, value, req } of snapshot.shared) {
      const client = this.sessions.get(clientId);
      client?.share({ [name]: value });
      // The answer to the request that set it may have died with the last
      // process: it goes again (a client that has it ignores a second).
      if (client && req !== undefined && !answered.has(`${clientId} ${req}`)) {
        answered.add(`${clientId} ${req}`);
        client.replies.push({ t: 'shared', req });
        this.dirty.add(client);
      }
    }
    for (const { clientId, taskId, ...spec } of snapshot.tasks) {
      const client = this.sessions.get(clientId);
      if (!client) continue;
      // A job's record is written with its first task, so it is there; were it
      // not, the task still runs, counted in the session's own job.
      const job = this.jobs.get(client.id, spec.job ?? 0, client.tokenName) ?? this.jobs.get(client.id, 0, client.tokenName)!;
      const record = this.lifecycle.restore(clientOwner(client.id), client.scope, { id: taskId, ...spec }, this.jobs.key(job));
      this.jobs.adopt(job, record.id, spec.calls);
    }
    for (const r of snapshot.results) {
      const client = this.sessions.get(r.clientId);
      if (!client) continue;
      client.results.push(r.ok ? { id: r.taskId, ok: true, value: r.value! } : { id: r.taskId, ok: false, ...(JSON.parse(r.error!) as { kind: undefined; error: { name: string; message: string } }) });
      this.dirty.add(client);
    }
  }

  /** Pings every connected client; closes sockets silent past the deadline. */
  beat(now: number): void {
    // Clients are pinged by WebSocket pings (the SDK's ws answers them itself).
    for (const client of this.sessions.values()) {
      const ws = client.ws;
      if (!ws) continue;
      if (now - client.lastSeen > this.options.deadlineMs) {
        this.silenced.add(ws);
        ws.terminate();
      } else {
        ws.ping();
      }
    }
  }

  /** Sends each session what it accumulated this turn. */
  flush(): void {
    for (const client of this.dirty) {
      client.flush();
      // Results pile up for a client away: past the bound its queue waits for it.
      if (!client.ws && client.retainedBytes > this.options.heldResultBytes) this.lifecycle.scheduler.holdClient(client.id, true);
    }
    this.dirty.clear();
  }

  closeAll(code: number, reason: string): void {
    for (const c of this.sessions.values()) {
      c.ws?.close(code, reason);
      c.end();
    }
  }

  /** An outcome for a client, kept in the store until the client acknowledges it. */
  deliver(id: ClientId, outcome: TaskOutcome): void {
    const client = this.sessions.get(id);
    if (client) this.toClient(client, outcome);
  }

  /** A client's task started. */
  started(id: ClientId, clientTaskId: number): void {
    const client = this.sessions.get(id);
    if (!client) return;
    client.started.push(clientTaskId);
    this.mark(client);
  }

  /** Asks a client to judge its verified task's results; false when its session is gone. */
  ask(id: ClientId, question: CompareQuestion): boolean {
    const client = this.sessions.get(id);
    if (!client) return false;
    client.replies.push({ t: 'compare', ...question });
    this.mark(client);
    return true;
  }

  /** Tells a client, once, that its verified tasks wait for `pages` distinct pages (`joined` are). */
  warnVerify(id: ClientId, pages: number, joined: number): void {
    const client = this.sessions.get(id);
    if (!client || this.warnedVerify.has(client)) return;
    this.warnedVerify.add(client);
    client.replies.push({ t: 'waiting', needs: {}, verify: { pages, joined } });
    this.mark(client);
  }

  private mark(client: ClientSession): void {
    this.dirty.add(client);
    this.schedule();
  }

  private toClient(client: ClientSession, outcome: TaskOutcome): void {
    client.results.push(outcome);
    this.journal?.result(client.id, outcome);
    this.mark(client);
  }

  private addClient(ws: WebSocket, hello: ClientHello, tokenName: string): void {
    const { submitRate, limits } = this.options;
    let client: ClientSession;
    let peerAck = 0;
    if (hello.resume) {
      const known = this.sessions.get(hello.resume.clientId);
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
      client = new ClientSession(hello.grace ?? 60_000, tokenName, new RateLimit(submitRate, 2 * submitRate), limits.frameBytes);
      this.sessions.set(client.id, client);
      this.scopes.set(client.scope, client);
      this.journal?.session(client);
    }
    listen(
      ws,
      parseClientMessage,
      (msg) => this.onMessage(client, msg),
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
      else if (code === 1006 && !this.silenced.has(ws)) client.detach(() => this.removeClient(client), this.options.abandonedGraceMs);
      else client.detach(() => this.removeClient(client));
    });
    ws.on('pong', () => {
      if (client.ws === ws) client.lastSeen = Date.now();
    });
    this.lifecycle.scheduler.holdClient(client.id, false);
    client.attach(ws, { t: 'welcome', clientId: client.id, secret: client.secret, resumed: hello.resume !== undefined, ack: client.received, limits }, peerAck);
    // A session restored from the store sends what it kept once its client is back.
    if (client.results.length > 0 || client.replies.length > 0) this.mark(client);
  }

  /** Tells a client, once per needs, that none of the joined pages can run
   * some of its tasks (they wait for one that can). */
  private warnWaiting(client: ClientSession): void {
    const waiting = this.lifecycle.scheduler.waitingForNeeds();
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

  private onMessage(client: ClientSession, msg: ClientMessage): void {
    client.lastSeen = Date.now();
    if (msg.t === 'ack') {
      this.journal?.acked(client.id, client.acked(msg.seq));
      return;
    }
    if (!client.accept(msg.seq)) return; // resent after a reconnect, already done
    this.journal?.session(client);
    this.mark(client);
    switch (msg.t) {
      case 'submit':
        this.submit(client, msg.tasks);
        break;
      case 'job':
        this.jobs.declare(client.id, client.tokenName, msg);
        break;
      case 'compared':
        this.lifecycle.compared(client.id, msg.req, msg.equal);
        break;
      case 'cancel':
        for (const clientTaskId of msg.ids) this.lifecycle.cancel(clientOwner(client.id), clientTaskId);
        break;
      case 'share':
        this.share(client, msg.req, msg.values);
        break;
    }
  }

  private submit(client: ClientSession, tasks: TaskSpec[]): void {
    const { submitRate, maxTasksPerClient } = this.options;
    // A flood closes the connection: the rate is far above what the SDK
    // sends, and answering each task of a flood would amplify it.
    if (!client.submits.take(tasks.length + 1)) throw new FloodError(`submission rate limit exceeded (${submitRate} tasks/s)`);
    // A task out of bounds fails alone; the session and its other tasks go on.
    // Its own tasks only: what pages add to its tree is bounded apart (see PageGateway.release).
    let room = maxTasksPerClient - this.lifecycle.store.ownerSize(clientOwner(client.id));
    for (const spec of tasks) {
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
    if (tasks.some((t) => t.needs?.length)) this.warnWaiting(client);
  }

  /** Why a client's task is refused without running, if it is. */
  private refusal(spec: TaskSpec, room: number): { kind: FailureKindRefused; message: string } | undefined {
    const { limits, maxTasksPerClient } = this.options;
    const invalid = taskOptionsError(spec, limits);
    if (invalid) return { kind: 'invalid', message: invalid };
    const tooLarge = taskBytesError(spec.fn, spec.args.byteLength, limits);
    if (tooLarge) return { kind: 'tooLarge', message: tooLarge };
    if (room <= 0) return { kind: 'tooMany', message: `too many unfinished tasks (limit ${maxTasksPerClient} per client); wait for some to finish` };
    return undefined;
  }

  private share(client: ClientSession, req: number, values: Record<string, Uint8Array>): void {
    const { limits, sharedQuotaBytes } = this.options;
    const taken = Object.keys(values).filter((name) => client.shared.has(name));
    // Constants stay in memory while their session lives: each token has a budget.
    const adding = Object.values(values).reduce((n, v) => n + v.byteLength, 0);
    let held = 0;
    for (const c of this.sessions.values()) if (c.tokenName === client.tokenName) held += c.sharedBytes;
    const tooLarge = sharedBytesError(client.sharedBytes + adding, limits);
    if (taken.length > 0) {
      client.replies.push({ t: 'shared', req, error: `shared constants are set once; already set: ${taken.join(', ')}` });
    } else if (tooLarge) {
      client.replies.push({ t: 'shared', req, error: tooLarge });
    } else if (held + adding > sharedQuotaBytes) {
      client.replies.push({
        t: 'shared',
        req,
        error: `shared constants over quota: this token's sessions hold ${held} bytes, and ${adding} more would pass its ${sharedQuotaBytes}`,
      });
    } else {
      client.share(values);
      this.journal?.shared(client.id, values, req);
      client.replies.push({ t: 'shared', req });
    }
  }

  private removeClient(client: ClientSession): void {
    if (!this.sessions.has(client.id)) return;
    client.end();
    this.sessions.delete(client.id);
    this.scopes.delete(client.scope);
    this.lifecycle.scheduler.holdClient(client.id, false);
    this.dirty.delete(client);
    this.journal?.sessionEnded(client.id);
    // Nobody is left to receive these results: stop the whole tree.
    this.lifecycle.cancelScope(client.scope);
    this.jobs.clientGone(client.id);
    this.onEnded(client.scope);
  }
}
