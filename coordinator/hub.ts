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
import { TaskStore } from './task-store.ts';

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
}

interface PageConn {
  id: string;
  ws: WebSocket;
  threads: number;
  userAgent: string;
  cancels: number[];
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
  readonly store = new TaskStore();
  private readonly clients = new Map<string, ClientConn>();
  private readonly pages = new Map<string, PageConn>();
  private readonly tokenDigest: Buffer;
  private readonly maxAttempts: number;
  private readonly helloTimeoutMs: number;
  private flushQueued = false;
  private readonly dirtyClients = new Set<ClientConn>();
  private readonly dirtyPages = new Set<PageConn>();

  constructor(options: HubOptions) {
    this.tokenDigest = digest(options.token);
    this.maxAttempts = options.maxAttempts ?? 3;
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
    const client: ClientConn = { id: randomUUID(), ws, results: [], started: [] };
    this.clients.set(client.id, client);
    this.listen(ws, parseClientMessage, (msg) => this.onClientMessage(client, msg));
    ws.on('close', () => this.removeClient(client));
    ws.send(encodeFrame({ t: 'welcome', clientId: client.id } satisfies ToClient));
  }

  private onClientMessage(client: ClientConn, msg: ClientMessage): void {
    switch (msg.t) {
      case 'submit':
        this.submit(client, msg.tasks);
        break;
      case 'cancel':
        for (const clientTaskId of msg.ids) {
          const id = this.store.lookup(client.id, clientTaskId);
          if (id !== undefined) this.cancelTask(id);
        }
        break;
    }
  }

  private submit(client: ClientConn, tasks: TaskSpec[]): void {
    for (const spec of tasks) {
      if (this.store.lookup(client.id, spec.id) !== undefined) {
        throw new ProtocolError(`task id ${spec.id} is already live`);
      }
      this.scheduler.enqueue(this.store.add(client.id, spec).id);
    }
    this.schedule();
  }

  private cancelTask(id: number): void {
    const where = this.scheduler.cancel(id);
    this.store.remove(id, 'cancelled');
    if (where.where === 'assigned') {
      const page = this.pages.get(where.pageId);
      if (page) {
        page.cancels.push(id);
        this.markPage(page);
      }
    }
  }

  private removeClient(client: ClientConn): void {
    this.clients.delete(client.id);
    this.dirtyClients.delete(client);
    // Nobody is left to receive these results: stop the work.
    for (const id of this.store.ofClient(client.id)) this.cancelTask(id);
  }

  private deliver(clientId: string, outcome: TaskOutcome): void {
    const client = this.clients.get(clientId);
    if (!client) return;
    client.results.push(outcome);
    this.markClient(client);
  }

  // ---- volunteer pages ----

  private addPage(ws: WebSocket, threads: number, userAgent: string): void {
    const page: PageConn = { id: randomUUID(), ws, threads, userAgent, cancels: [], done: 0 };
    this.pages.set(page.id, page);
    this.scheduler.addPage(page.id, threads);
    this.listen(ws, parsePageMessage, (msg) => this.onPageMessage(page, msg));
    ws.on('close', () => this.removePage(page));
    ws.send(encodeFrame({ t: 'welcome', workerId: page.id } satisfies ToPage));
    this.schedule();
  }

  private onPageMessage(page: PageConn, msg: PageMessage): void {
    switch (msg.t) {
      case 'report':
        for (const id of msg.started) {
          const record = this.store.get(id);
          if (!record || record.started) continue;
          record.started = true;
          const client = this.clients.get(record.clientId);
          if (client) {
            client.started.push(record.clientTaskId);
            this.markClient(client);
          }
        }
        for (const outcome of msg.results) this.onResult(page, outcome);
        this.schedule();
        break;
    }
  }

  private onResult(page: PageConn, outcome: TaskOutcome): void {
    // A result for a task this page no longer holds (cancelled, or requeued
    // after a missed deadline) is a duplicate: drop it.
    if (!this.scheduler.finish(outcome.id, page.id)) return;
    page.done++;
    const record = this.store.remove(outcome.id, outcome.ok ? 'completed' : 'failed');
    if (!record) return;
    outcome.id = record.clientTaskId;
    this.deliver(record.clientId, outcome);
  }

  private removePage(page: PageConn): void {
    this.pages.delete(page.id);
    this.dirtyPages.delete(page);
    for (const id of this.scheduler.removePage(page.id)) {
      const record = this.store.get(id);
      if (!record) continue;
      record.attempts++;
      record.started = false;
      if (record.attempts >= this.maxAttempts) {
        this.store.remove(id, 'failed');
        this.deliver(record.clientId, {
          id: record.clientTaskId,
          ok: false,
          lost: true,
          error: {
            name: 'TaskLostError',
            message: `task ${record.spec.fn} was lost with ${record.attempts} pages in a row (each closed or crashed while running it); giving up`,
          },
        });
      } else {
        this.scheduler.requeue(id);
      }
    }
    this.schedule();
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
      page.ws.send(encodeFrame({ t: 'tasks', tasks } satisfies ToPage));
    }
    for (const page of this.dirtyPages) {
      if (page.cancels.length > 0) page.ws.send(encodeFrame({ t: 'cancel', ids: page.cancels } satisfies ToPage));
      page.cancels = [];
    }
    this.dirtyPages.clear();
    for (const client of this.dirtyClients) {
      client.ws.send(encodeFrame({ t: 'results', results: client.results, started: client.started } satisfies ToClient));
      client.results = [];
      client.started = [];
    }
    this.dirtyClients.clear();
  }
}
