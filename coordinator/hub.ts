// The hub connects the sockets to the scheduler and the task store: it
// authenticates each connection, turns messages into scheduler and store
// calls, and batches what goes back out (one frame per peer per turn).
import { randomUUID, timingSafeEqual, createHash } from 'node:crypto';
import type { WebSocket, RawData } from 'ws';
import {
  CLOSE_POLICY,
  PROTOCOL_VERSION,
  ProtocolError,
  decodeFrame,
  encodeFrame,
  parseClientMessage,
  parseHello,
  parsePageMessage,
  type ClientMessage,
  type PageMessage,
  type TaskOutcome,
  type TaskSpec,
  type ToClient,
  type ToPage,
} from '../protocol/messages.ts';
import { Scheduler } from './scheduler.ts';
import { TaskStore, clientOwner, pageOwner, type Outcome, type TaskRecord } from './task-store.ts';

export interface HubOptions {
  token: string;
  /** How many pages may be lost while running one task before it fails. */
  maxAttempts?: number;
  /** How long a new socket may take to say hello. */
  helloTimeoutMs?: number;
}

interface ClientConn {
  id: string;
  ws: WebSocket;
  results: TaskOutcome[];
  started: number[];
  replies: ToClient[];
  /** Shared constants, packed, by name: set once, read-only after. */
  shared: Map<string, Uint8Array>;
}

interface PageConn {
  id: string;
  ws: WebSocket;
  threads: number;
  userAgent: string;
  cancels: number[];
  results: TaskOutcome[];
  /** Names of each scope's constants this page has been sent. */
  sharedSent: Map<string, Set<string>>;
  done: number;
}

export interface Stats {
  workers: number;
  threads: number;
  clients: number;
  queued: number;
  running: number;
  completed: number;
  failed: number;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}

export class Hub {
  readonly scheduler = new Scheduler();
  readonly store: TaskStore;
  private readonly clients = new Map<string, ClientConn>();
  private readonly pages = new Map<string, PageConn>();
  private readonly tokenDigest: Buffer;
  private readonly helloTimeoutMs: number;
  private flushQueued = false;
  private readonly dirtyClients = new Set<ClientConn>();
  private readonly dirtyPages = new Set<PageConn>();

  constructor(options: HubOptions) {
    this.tokenDigest = digest(options.token);
    this.store = new TaskStore(options.maxAttempts ?? 3);
    this.helloTimeoutMs = options.helloTimeoutMs ?? 10_000;
  }

  stats(): Stats {
    return {
      workers: this.pages.size,
      threads: this.scheduler.threadCount,
      clients: this.clients.size,
      queued: this.scheduler.queuedCount,
      running: this.scheduler.assignedCount,
      completed: this.store.completed,
      failed: this.store.failed,
    };
  }

  /** Takes a fresh socket: the first frame must be a hello saying who it is. */
  accept(ws: WebSocket): void {
    const timer = setTimeout(() => ws.close(CLOSE_POLICY, 'no hello received'), this.helloTimeoutMs);
    ws.once('message', (data, isBinary) => {
      clearTimeout(timer);
      try {
        if (!isBinary) throw new ProtocolError('frames must be binary');
        const hello = decodeFrame(toBytes(data), parseHello);
        if (hello.version !== PROTOCOL_VERSION) {
          throw new ProtocolError(`protocol version ${hello.version} is not supported (coordinator speaks ${PROTOCOL_VERSION})`);
        }
        if (hello.role === 'client') {
          // Compare digests so the comparison takes the same time for any token length.
          if (!timingSafeEqual(digest(hello.token), this.tokenDigest)) {
            ws.close(CLOSE_POLICY, 'invalid token');
            return;
          }
          this.addClient(ws);
        } else {
          this.addPage(ws, hello.threads, hello.userAgent);
        }
      } catch (e) {
        this.reject(ws, e);
      }
    });
    ws.once('close', () => clearTimeout(timer));
  }

  /** Closes every connection (used on shutdown). */
  closeAll(code: number, reason: string): void {
    for (const c of this.clients.values()) c.ws.close(code, reason);
    for (const p of this.pages.values()) p.ws.close(code, reason);
  }

  private reject(ws: WebSocket, e: unknown): void {
    const reason = e instanceof ProtocolError ? e.message : 'internal error';
    if (!(e instanceof ProtocolError)) console.error('ladle coordinator:', e);
    // Close reasons are limited to 123 bytes.
    ws.close(CLOSE_POLICY, Buffer.from(reason).subarray(0, 123).toString());
  }

  private listen<T>(ws: WebSocket, parse: (x: unknown) => T, handle: (msg: T) => void): void {
    ws.on('message', (data, isBinary) => {
      try {
        if (!isBinary) throw new ProtocolError('frames must be binary');
        handle(decodeFrame(toBytes(data), parse));
      } catch (e) {
        this.reject(ws, e);
      }
    });
  }

  // ---- SDK clients ----

  private addClient(ws: WebSocket): void {
    const client: ClientConn = { id: randomUUID(), ws, results: [], started: [], replies: [], shared: new Map() };
    this.clients.set(client.id, client);
    this.listen(ws, parseClientMessage, (msg) => this.onClientMessage(client, msg));
    ws.on('close', () => this.removeClient(client));
    ws.send(encodeFrame({ t: 'welcome', clientId: client.id } satisfies ToClient));
  }

  private onClientMessage(client: ClientConn, msg: ClientMessage): void {
    switch (msg.t) {
      case 'submit':
        for (const spec of msg.tasks) this.enqueue(clientOwner(client.id), client.id, spec);
        this.schedule();
        break;
      case 'cancel':
        for (const clientTaskId of msg.ids) {
          const id = this.store.lookup(clientOwner(client.id), clientTaskId);
          if (id !== undefined) this.drop(id, 'cancelled');
        }
        break;
      case 'share': {
        const taken = Object.keys(msg.values).filter((name) => client.shared.has(name));
        if (taken.length > 0) {
          client.replies.push({ t: 'shared', req: msg.req, error: `shared constants are set once; already set: ${taken.join(', ')}` });
        } else {
          for (const [name, value] of Object.entries(msg.values)) client.shared.set(name, value);
          client.replies.push({ t: 'shared', req: msg.req });
        }
        this.markClient(client);
        break;
      }
    }
  }

  private enqueue(owner: string, scope: string, spec: TaskSpec, parent?: TaskRecord): void {
    if (this.store.lookup(owner, spec.id) !== undefined) throw new ProtocolError(`task id ${spec.id} is already live`);
    this.scheduler.enqueue(this.store.add(owner, scope, spec, parent).id);
  }

  private removeClient(client: ClientConn): void {
    this.clients.delete(client.id);
    this.dirtyClients.delete(client);
    // Nobody is left to receive these results: stop the whole tree.
    for (const id of this.store.ofScope(client.id)) this.drop(id, 'cancelled');
    for (const page of this.pages.values()) {
      if (page.sharedSent.delete(client.id)) page.ws.send(encodeFrame({ t: 'unshare', scope: client.id } satisfies ToPage));
    }
  }

  // ---- volunteer pages ----

  private addPage(ws: WebSocket, threads: number, userAgent: string): void {
    const page: PageConn = { id: randomUUID(), ws, threads, userAgent, cancels: [], results: [], sharedSent: new Map(), done: 0 };
    this.pages.set(page.id, page);
    this.scheduler.addPage(page.id, threads);
    this.listen(ws, parsePageMessage, (msg) => this.onPageMessage(page, msg));
    ws.on('close', () => this.removePage(page));
    ws.send(encodeFrame({ t: 'welcome', workerId: page.id } satisfies ToPage));
    this.schedule();
  }

  private onPageMessage(page: PageConn, msg: PageMessage): void {
    for (const id of msg.started) {
      const record = this.store.get(id);
      if (!record || record.started) continue;
      record.started = true;
      const client = this.clients.get(record.owner.slice(2));
      if (client && record.owner === clientOwner(client.id)) {
        client.started.push(record.ownerTaskId);
        this.markClient(client);
      }
    }
    for (const spec of msg.submit) {
      const parent = spec.parent === undefined ? undefined : this.store.get(spec.parent);
      if (!parent || this.scheduler.holder(parent.id) !== page.id) {
        // The spawning task is gone (cancelled, or moved elsewhere): so is the subtask.
        page.results.push(cancelledOutcome(spec.id, 'its parent task is no longer running here'));
        this.markPage(page);
        continue;
      }
      this.enqueue(pageOwner(page.id), parent.scope, spec, parent);
    }
    for (const pageTaskId of msg.cancel) {
      const id = this.store.lookup(pageOwner(page.id), pageTaskId);
      if (id !== undefined) this.drop(id, 'cancelled');
    }
    for (const outcome of msg.results) this.onResult(page, outcome);
    for (const id of msg.lost) {
      if (this.scheduler.finish(id, page.id)) this.retry(id);
    }
    this.scheduler.setBlocked(page.id, msg.blocked);
    this.schedule();
  }

  private onResult(page: PageConn, outcome: TaskOutcome): void {
    // A result for a task this page no longer holds (cancelled, or requeued
    // after a missed deadline) is a duplicate: drop it.
    if (!this.scheduler.finish(outcome.id, page.id)) return;
    page.done++;
    this.drop(outcome.id, outcome.ok ? 'completed' : 'failed', outcome);
  }

  private removePage(page: PageConn): void {
    this.pages.delete(page.id);
    this.dirtyPages.delete(page);
    // Subtasks this page spawned have lost their parent; the parent reruns
    // elsewhere and spawns them anew.
    for (const id of this.store.ofOwner(pageOwner(page.id))) this.drop(id, 'cancelled');
    for (const id of this.scheduler.removePage(page.id)) this.retry(id);
    this.schedule();
  }

  /** A task whose page (or Web Worker) was lost runs again, up to its attempts. */
  private retry(id: number): void {
    const record = this.store.get(id);
    if (!record) return;
    record.attempts++;
    record.started = false;
    for (const child of record.children ?? []) this.drop(child, 'cancelled');
    if (record.attempts >= record.maxAttempts) {
      this.drop(id, 'failed', {
        id,
        ok: false,
        kind: 'lost',
        error: {
          name: 'TaskLostError',
          message: `task ${record.spec.fn} was lost ${record.attempts} times (its page closed, crashed or went silent while running it); giving up`,
        },
      });
    } else {
      this.scheduler.requeue(id);
    }
  }

  /** Ends a task: unschedules it, cancels its subtree, and tells its owner
   * (a cancelled task's owner already knows). */
  private drop(id: number, how: Outcome, outcome?: TaskOutcome): void {
    const where = this.scheduler.cancel(id);
    const record = this.store.remove(id, how);
    if (!record) return;
    if (where.where === 'assigned' && how === 'cancelled') {
      const page = this.pages.get(where.pageId);
      if (page) {
        page.cancels.push(id);
        this.markPage(page);
      }
    }
    for (const child of record.children ?? []) this.drop(child, 'cancelled');
    if (outcome) {
      outcome.id = record.ownerTaskId;
      this.deliver(record, outcome);
    } else if (how === 'cancelled' && record.owner.startsWith('p:')) {
      // A page's task awaits its subtask's future: settle it.
      this.deliver(record, cancelledOutcome(record.ownerTaskId, 'the subtask was cancelled'));
    }
  }

  private deliver(record: TaskRecord, outcome: TaskOutcome): void {
    const key = record.owner.slice(2);
    if (record.owner.startsWith('c:')) {
      const client = this.clients.get(key);
      if (!client) return;
      client.results.push(outcome);
      this.markClient(client);
    } else {
      const page = this.pages.get(key);
      if (!page) return;
      page.results.push(outcome);
      this.markPage(page);
    }
  }

  // ---- batching: one frame per peer per turn of the event loop ----

  private markClient(client: ClientConn): void {
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
    for (const [pageId, ids] of this.scheduler.dispatch()) {
      const page = this.pages.get(pageId)!;
      const tasks = ids.map((id) => this.store.get(id)!.spec);
      this.sendShared(page, tasks);
      page.ws.send(encodeFrame({ t: 'tasks', tasks } satisfies ToPage));
    }
    for (const page of this.dirtyPages) {
      if (page.cancels.length > 0) page.ws.send(encodeFrame({ t: 'cancel', ids: page.cancels } satisfies ToPage));
      if (page.results.length > 0) page.ws.send(encodeFrame({ t: 'results', results: page.results } satisfies ToPage));
      page.cancels = [];
      page.results = [];
    }
    this.dirtyPages.clear();
    for (const client of this.dirtyClients) {
      for (const reply of client.replies) client.ws.send(encodeFrame(reply));
      client.replies = [];
      if (client.results.length > 0 || client.started.length > 0) {
        client.ws.send(encodeFrame({ t: 'results', results: client.results, started: client.started } satisfies ToClient));
      }
      client.results = [];
      client.started = [];
    }
    this.dirtyClients.clear();
  }

  /** Sends a page the constants of the tasks' scopes it does not have yet,
   * ahead of the tasks on the same socket, so they are readable at once. */
  private sendShared(page: PageConn, tasks: TaskSpec[]): void {
    for (const task of tasks) {
      const scope = task.scope!;
      const client = this.clients.get(scope);
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

function cancelledOutcome(id: number, message: string): TaskOutcome {
  return { id, ok: false, kind: 'cancelled', error: { name: 'CancelledError', message } };
}
