// The SDK's entry: a Grid is one authenticated connection to a coordinator,
// through which futures are submitted and their results come back.
import type WebSocket from 'ws';
import { resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pack, unpack } from '../protocol/codec.ts';
import { decodeFrame, encodeFrame, parseToClient, type TaskOutcome, type TaskSpec } from '../protocol/messages.ts';
import { bundleInline, bundleModule, type Bundle } from './bundler.ts';
import { endpoints, openConnection, type Endpoints } from './connection.ts';
import { CancelledError, ConnectionError, RemoteError, TaskLostError } from './errors.ts';
import { Future } from './future.ts';
import { zipInputs, type Inputs } from './inputs.ts';
import { MapResult } from './map-result.ts';

/** Any function a task module exports. `never[]` parameters accept every signature. */
export type TaskFn = (...args: never[]) => unknown;

const HANDLE = Symbol('ladle.handle');

interface HandleTarget {
  fn: string;
  /** The bundle's hash, or a promise of it while it is bundled and uploaded. */
  bundle: string | Promise<string>;
}

/** A reference to a function in an uploaded task module; `F` is its type. */
export interface TaskHandle<F extends TaskFn> {
  readonly name: string;
  readonly [HANDLE]: HandleTarget;
  /** Carries the function's type; never set. */
  readonly __type?: F;
}

export type ModuleHandles<M> = {
  readonly [K in keyof M as M[K] extends TaskFn ? K : never]: M[K] extends TaskFn ? TaskHandle<M[K]> : never;
};

export type ResultOf<F extends TaskFn> = Awaited<ReturnType<F>>;

export interface ConnectOptions {
  /** Coordinator URL (http:// or ws://); defaults to LADLE_URL, then http://127.0.0.1:8080. */
  url?: string;
  /** Submit token; defaults to LADLE_TOKEN. */
  token?: string;
  /** How long connecting may take before it fails, in ms (default 10 s). */
  connectTimeout?: number;
}

export interface MapOptions {
  /** Tasks submitted ahead of the consumer (default 4096). */
  inFlight?: number;
}

function makeHandle<F extends TaskFn>(fn: string, bundle: string | Promise<string>): TaskHandle<F> {
  return { name: fn, [HANDLE]: { fn, bundle } };
}

export async function connect(options: ConnectOptions = {}): Promise<Grid> {
  const url = options.url ?? process.env.LADLE_URL ?? 'http://127.0.0.1:8080';
  const token = options.token ?? process.env.LADLE_TOKEN;
  if (!token) throw new ConnectionError('no submit token: pass { token } to connect() or set LADLE_TOKEN (the coordinator prints it at start)');
  const ends = endpoints(url);
  const { ws, clientId } = await openConnection(ends.ws, token, options.connectTimeout ?? 10_000);
  return new Grid(ws, clientId, ends, token);
}

export class Grid {
  #nextId = 1;
  readonly #futures = new Map<number, Future<unknown>>();
  #outbox: TaskSpec[] = [];
  #cancels: number[] = [];
  #flushQueued = false;
  #closed = false;
  readonly #uploads = new Map<string, Promise<void>>();

  /** @internal use connect() */
  constructor(
    private readonly ws: WebSocket,
    readonly clientId: string,
    private readonly ends: Endpoints,
    private readonly token: string,
  ) {
    ws.on('message', (data: Buffer) => this.#onFrame(data));
    ws.on('close', (code, reason) => this.#onClose(code, reason.toString()));
    ws.on('error', () => undefined); // 'close' follows and carries the outcome
  }

  /** Bundles a task module, uploads it once, and returns a handle per export. */
  async module<M = Record<string, TaskFn>>(path: string | URL): Promise<ModuleHandles<M>> {
    const file = path instanceof URL ? fileURLToPath(path) : resolvePath(path);
    let bundle: Bundle;
    try {
      bundle = await bundleModule(file);
    } catch (e) {
      throw new Error(`could not bundle task module ${file}: ${(e as Error).message}`);
    }
    await this.#upload(bundle);
    const handles: Record<string, TaskHandle<TaskFn>> = {};
    for (const name of bundle.exports) handles[name] = makeHandle(name, bundle.hash);
    return handles as ModuleHandles<M>;
  }

  /** A handle for a self-contained inline function (it may not use variables
   * from the enclosing scope; its source text is what runs). */
  fn<F extends TaskFn>(f: F): TaskHandle<F> {
    if (typeof f !== 'function') throw new TypeError('grid.fn takes a function');
    const hash = bundleInline(f.toString()).then(async (b) => {
      await this.#upload(b);
      return b.hash;
    });
    hash.catch(() => undefined); // reported through each future that uses it
    return makeHandle<F>('default', hash);
  }

  submit<F extends TaskFn>(handle: TaskHandle<F>, ...args: Parameters<F>): Future<ResultOf<F>> {
    if (this.#closed) throw new ConnectionError('this grid is closed');
    const target = handle?.[HANDLE];
    if (!target) throw new TypeError('submit takes a task handle from grid.module() or grid.fn()');
    const id = this.#nextId++;
    const future = new Future<ResultOf<F>>(() => this.#withdraw(id));
    this.#futures.set(id, future as Future<unknown>);
    let packed: Uint8Array;
    try {
      packed = pack(args);
    } catch (e) {
      this.#futures.delete(id);
      future.setException(new TypeError(`the arguments of ${target.fn} cannot be encoded: ${(e as Error).message}`));
      return future;
    }
    if (typeof target.bundle === 'string') {
      this.#enqueue({ id, bundle: target.bundle, fn: target.fn, args: packed });
    } else {
      target.bundle.then(
        (bundle) => {
          if (this.#futures.has(id)) this.#enqueue({ id, bundle, fn: target.fn, args: packed });
        },
        (e: Error) => {
          this.#futures.delete(id);
          future.setException(new Error(`could not prepare inline task: ${e.message}`));
        },
      );
    }
    return future;
  }

  /** Applies `handle` to each tuple of the zipped iterables. Await it for the
   * array of results in input order, or iterate it with for-await. */
  map<F extends TaskFn>(handle: TaskHandle<F>, ...iterables: Inputs<Parameters<F>>): MapResult<ResultOf<F>> {
    return this.#map(handle, iterables, {});
  }

  #map<F extends TaskFn>(handle: TaskHandle<F>, iterables: readonly unknown[], options: MapOptions): MapResult<ResultOf<F>> {
    const source = zipInputs(iterables);
    const inFlight = options.inFlight ?? 4096;
    return new MapResult(source, (args) => this.submit(handle, ...(args as Parameters<F>)), inFlight);
  }

  /** Closes the connection; futures still pending are cancelled. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#failAll(new CancelledError('the grid was closed before this task finished'));
    if (this.ws.readyState === this.ws.CLOSED) return;
    await new Promise<void>((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close(1000, 'client closed');
    });
  }

  // ---- internals ----

  async #upload(bundle: Bundle): Promise<void> {
    let pending = this.#uploads.get(bundle.hash);
    if (!pending) {
      pending = this.#putBundle(bundle);
      this.#uploads.set(bundle.hash, pending);
      pending.catch(() => this.#uploads.delete(bundle.hash));
    }
    return pending;
  }

  async #putBundle(bundle: Bundle): Promise<void> {
    const url = `${this.ends.http}/bundles/${bundle.hash}`;
    const head = await fetch(url, { method: 'HEAD' });
    if (head.ok) return; // uploaded before, by us or anyone
    const res = await fetch(`${this.ends.http}/api/bundles/${bundle.hash}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'text/javascript' },
      body: bundle.code,
    });
    if (!res.ok) throw new ConnectionError(`uploading a task bundle failed: HTTP ${res.status} ${await res.text()}`);
  }

  #enqueue(spec: TaskSpec): void {
    this.#outbox.push(spec);
    this.#scheduleFlush();
  }

  /** Cancels a task that has not started; the coordinator drops it. */
  #withdraw(id: number): boolean {
    if (!this.#futures.delete(id)) return false;
    this.#cancels.push(id);
    this.#scheduleFlush();
    return true;
  }

  #scheduleFlush(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    setImmediate(() => this.#flush());
  }

  #flush(): void {
    this.#flushQueued = false;
    if (this.#closed || this.ws.readyState !== this.ws.OPEN) return;
    // A task withdrawn before it was ever sent needs no message at all.
    const tasks = this.#outbox.filter((t) => this.#futures.has(t.id));
    this.#outbox = [];
    for (let i = 0; i < tasks.length; i += 2048) {
      this.ws.send(encodeFrame({ t: 'submit', tasks: tasks.slice(i, i + 2048) }));
    }
    if (this.#cancels.length > 0) {
      this.ws.send(encodeFrame({ t: 'cancel', ids: this.#cancels }));
      this.#cancels = [];
    }
  }

  #onFrame(data: Buffer): void {
    let msg;
    try {
      msg = decodeFrame(data, parseToClient);
    } catch (e) {
      console.error('ladle: dropping a malformed frame from the coordinator:', (e as Error).message);
      return;
    }
    if (msg.t !== 'results') return;
    for (const id of msg.started) this.#futures.get(id)?.setRunning();
    for (const outcome of msg.results) this.#settle(outcome);
  }

  #settle(outcome: TaskOutcome): void {
    const future = this.#futures.get(outcome.id);
    if (!future) return; // cancelled, or a duplicate
    this.#futures.delete(outcome.id);
    if (outcome.ok) {
      try {
        future.setResult(unpack(outcome.value));
      } catch (e) {
        future.setException(new Error(`the task's result could not be decoded: ${(e as Error).message}`));
      }
    } else if (outcome.lost) {
      future.setException(new TaskLostError(outcome.error.message));
    } else {
      future.setException(new RemoteError(outcome.error));
    }
  }

  #onClose(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#failAll(new ConnectionError(`the connection to the coordinator was lost (${reason || `code ${code}`})`));
  }

  #failAll(error: Error): void {
    const futures = [...this.#futures.values()];
    this.#futures.clear();
    for (const f of futures) f.setException(error);
  }
}
