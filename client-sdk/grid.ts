// The SDK's entry: a Grid is one authenticated connection to a coordinator
// (or, in local mode, to worker threads of this process), through which
// futures are submitted and their results come back.
import { Comparer } from './comparer.ts';
import { availableParallelism } from 'node:os';
import { resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packValue, unpack } from '../protocol/codec.ts';
import type { TaskOutcome, TaskSpec, ToClientData } from '../protocol/messages.ts';
import { bundleInline, bundleModule, inlineName, type Bundle } from './bundler.ts';
import { Channel, endpoints } from './channel.ts';
import { remoteTransport, type ClientFrame, type Transport } from './transport.ts';
import { LocalChannel } from './local/local-channel.ts';
import { CancelledError, ConnectionError, DataCloneError, ErrorCode, LadleError, outcomeError } from '../futures/errors.ts';
import { SourceMaps } from './stack-map.ts';
import type { Need } from '../protocol/needs.ts';
import { DEFAULT_LIMITS, FRAME_OVERHEAD_BYTES, MAX_GRACE_MS, jobOptionsError, sharedBytesError, taskBytesError, taskFrameBytes, taskOptionsError, type Limits, type VerifyOption } from '../protocol/limits.ts';
import { batchesBySize } from '../protocol/frame-batches.ts';
import { Future } from '../futures/future.ts';
import { unknownOptionError, type Inputs } from '../futures/inputs.ts';
import type { MapResult } from '../futures/map-result.ts';
import type { MapAsCompleted } from '../futures/map-as-completed.ts';
import { FuturesApi, type MapOptions } from '../futures/futures-api.ts';
import { asCompleted, wait } from '../futures/waiting.ts';
import { knownLength, progressTracker } from '../futures/progress.ts';
import { CallTimes, ranMs } from '../futures/auto-chunk.ts';

/** Any function a task module exports. `never[]` parameters accept every signature. */
export type TaskFn = (...args: never[]) => unknown;

const HANDLE = Symbol('ladle.handle');
/** Tasks per submit frame: small frames keep the coordinator's turns short. */
const MAX_TASKS_PER_FRAME = 2048;
const MAX_IDS_PER_FRAME = 100_000;

/** Per-call task options, set with `handle.with({...})`. */
export interface TaskOptions {
  /** Milliseconds a task may run; past it the task's Web Worker is replaced
   * and its future rejects with TimeoutError. */
  timeout?: number;
  /** How many pages may be lost while running it before it fails with TaskLostError (default 3). */
  attempts?: number;
  /** Run it only on pages that have all of these ('webgpu', 'wasm-simd',
   * 'wasm-threads'); it waits while no joined page has them. */
  needs?: Need[];
  /** Verify its results against other pages': `n` (2 to 9) distinct pages
   * run it and a majority must agree; 'adaptive' checks pages until they
   * have a record, then at random; 'off' overrides the coordinator's
   * `--verify`. `{ replicas, equal }` judges results whose bytes differ with
   * `equal(a, b)`, an export of the same task module, run in this process.
   * A quorum that cannot form rejects with VerificationError. See the
   * README's "Trusting volunteers". */
  verify?: VerifyOption | VerifyWith;
}

/** Verification with the task module's own comparison (floating-point results, say). */
export interface VerifyWith {
  replicas: number | 'adaptive';
  equal: TaskHandle<(a: never, b: never) => boolean | Promise<boolean>>;
}

/** Options as they travel: `verify`'s comparison is carried apart (HandleTarget.equal). */
type WireOptions = Omit<TaskOptions, 'verify'> & { verify?: VerifyOption };

interface HandleTarget {
  fn: string;
  /** The bundle's hash, or a promise of it while it is bundled and uploaded. */
  bundle: string | Promise<string>;
  options: WireOptions;
  /** `verify.equal`'s export name. */
  equal?: string;
}

/** A reference to a function in an uploaded task module; `F` is its type. */
export interface TaskHandle<F extends TaskFn> {
  readonly name: string;
  readonly [HANDLE]: HandleTarget;
  /** The same task with options for every call made through the new handle. */
  with(options: TaskOptions): TaskHandle<F>;
  /** Carries the function's type; never set. */
  readonly __type?: F;
}

/** Iterables of a task's arguments, optionally followed by map options. */
export type MapArgs<F extends TaskFn> = Inputs<Parameters<F>> | [...Inputs<Parameters<F>>, MapOptions];

export type ModuleHandles<M> = {
  readonly [K in keyof M as M[K] extends TaskFn ? K : never]: M[K] extends TaskFn ? TaskHandle<M[K]> : never;
};

export type ResultOf<F extends TaskFn> = Awaited<ReturnType<F>>;

export interface ConnectOptions {
  /** Coordinator URL (http:// or ws://), or `local` to run tasks in this
   * process's worker threads; defaults to LADLE_URL, then http://127.0.0.1:8080. */
  url?: string;
  /** Submit token; defaults to LADLE_TOKEN (local mode needs none). */
  token?: string;
  /** Local mode only: how many worker threads run tasks (default os.availableParallelism()). */
  threads?: number;
  /** How long connecting may take before it fails, in ms (default 10 s). */
  connectTimeout?: number;
  /** How long a dropped connection may take to come back, in ms, before
   * pending futures fail; the coordinator keeps the session as long (default 60 s). */
  grace?: number;
  /** This session's name on the dashboard ('lab 3: alice'): its tasks that
   * name no job of their own count against it. */
  name?: string;
  /** The session's default job's weight among this client's jobs (see MapOptions.priority). */
  priority?: number;
}

/** ConnectOptions' keys, checked at run time (a misspelt `token` would fall back to LADLE_TOKEN unseen). */
const CONNECT_OPTIONS = Object.keys({ url: 1, token: 1, threads: 1, connectTimeout: 1, grace: 1, name: 1, priority: 1 } satisfies Record<keyof ConnectOptions, 1>);
/** TaskOptions' keys, checked at run time (a JavaScript caller's typo would be ignored). */
const TASK_OPTIONS = Object.keys({ timeout: 1, attempts: 1, needs: 1, verify: 1 } satisfies Record<keyof TaskOptions, 1>);

function makeHandle<F extends TaskFn>(fn: string, bundle: string | Promise<string>, options: WireOptions = {}, equal?: string): TaskHandle<F> {
  return {
    name: fn,
    [HANDLE]: { fn, bundle, options, equal },
    with(more: TaskOptions) {
      const unknown = unknownOptionError('a task', more, TASK_OPTIONS);
      if (unknown) throw new LadleError(ErrorCode.INVALID_OPTION, unknown);
      const { verify, ...rest } = more;
      if (verify === undefined || typeof verify !== 'object' || verify === null) {
        checkTaskOptions({ ...rest, verify });
        // A new verify without a comparison drops the old comparison.
        return makeHandle<F>(fn, bundle, { ...options, ...rest, ...(verify === undefined ? {} : { verify }) }, verify === undefined ? equal : undefined);
      }
      checkTaskOptions({ ...rest, verify: verify.replicas });
      const target = (verify.equal as Partial<TaskHandle<TaskFn>> | undefined)?.[HANDLE];
      if (!target || target.bundle !== bundle) {
        throw new LadleError(ErrorCode.INVALID_OPTION, `verify.equal must be a handle of an export of the same task module as ${fn} (a function (a, b) => boolean)`);
      }
      return makeHandle<F>(fn, bundle, { ...options, ...rest, verify: verify.replicas }, target.fn);
    },
  };
}

/** Throws a LadleError (ERR_INVALID_OPTION) for options the grid refuses. */
function checkTaskOptions(o: WireOptions, limits: Limits = DEFAULT_LIMITS): void {
  const error = taskOptionsError(o, limits);
  if (error) throw new LadleError(ErrorCode.INVALID_OPTION, error);
}

function targetOf(handle: unknown): HandleTarget {
  const target = (handle as TaskHandle<TaskFn> | undefined)?.[HANDLE];
  if (!target) throw new TypeError('expected a task handle from grid.module() or grid.fn()');
  return target;
}

export async function connect(options: ConnectOptions = {}): Promise<Grid> {
  const unknown = unknownOptionError('a connect', options, CONNECT_OPTIONS);
  if (unknown) throw new TypeError(unknown);
  const url = options.url ?? process.env.LADLE_URL ?? 'http://127.0.0.1:8080';
  if (url === 'local') return connectLocal(options.threads ?? availableParallelism());
  if (options.threads !== undefined) throw new TypeError(`threads applies to local mode ({ url: 'local' }); a coordinator's pages choose their own`);
  const token = options.token ?? process.env.LADLE_TOKEN;
  if (!token) throw new ConnectionError('no submit token: pass { token } to connect() or set LADLE_TOKEN (the coordinator prints it at start)');
  const grace = options.grace ?? 60_000;
  if (!(Number.isInteger(grace) && grace >= 0 && grace <= MAX_GRACE_MS)) {
    throw new LadleError(ErrorCode.INVALID_OPTION, `grace is a whole number of milliseconds from 0 to ${MAX_GRACE_MS} (15 minutes); got ${String(options.grace)}`);
  }
  const jobError = jobOptionsError(options);
  if (jobError) throw new LadleError(ErrorCode.INVALID_OPTION, jobError);
  const connectTimeout = options.connectTimeout ?? 10_000;
  if (!(typeof connectTimeout === 'number' && connectTimeout > 0)) {
    throw new LadleError(ErrorCode.INVALID_OPTION, `connectTimeout is a number of milliseconds above 0 (Infinity waits for ever); got ${String(options.connectTimeout)}`);
  }
  const ends = endpoints(url);
  let grid: Grid | undefined;
  const channel = await Channel.open({
    url: ends.ws,
    token,
    connectTimeout,
    grace,
    onData: (msg) => grid!.onData(msg),
    onLost: (e) => grid!.onLost(e),
  });
  grid = new Grid(remoteTransport(channel, ends, token));
  if (options.name !== undefined || options.priority !== undefined) channel.send(jobMessage(0, options.name, options.priority));
  return grid;
}

/** A `job` message without its absent fields (a frame carries no undefined). */
function jobMessage(job: number, name?: string, priority?: number, adds?: number): ClientFrame {
  return { t: 'job', job, ...(name !== undefined && { name }), ...(priority !== undefined && { priority }), ...(adds !== undefined && { adds }) };
}

async function connectLocal(threads: number): Promise<Grid> {
  if (!(Number.isInteger(threads) && threads >= 1 && threads <= 256)) {
    throw new TypeError(`threads is a whole number from 1 to 256; got ${String(threads)}`);
  }
  let grid: Grid | undefined;
  const channel = await LocalChannel.open(threads, (msg) => grid?.onData(msg));
  grid = new Grid(channel);
  return grid;
}

export class Grid {
  #nextId = 1;
  readonly #futures = new Map<number, Future<unknown>>();
  #outbox: TaskSpec[] = [];
  #cancels: number[] = [];
  #flushQueued = false;
  #closed = false;
  readonly #uploads = new Map<string, Promise<void>>();
  readonly #codes = new Map<string, string>();
  readonly #comparer = new Comparer((hash) => this.#codes.get(hash));
  /** Source maps of the bundles this grid made, for remote stack traces. */
  readonly #sourceMaps = new SourceMaps();
  /** How long each task function's calls take, for automatic chunking. */
  readonly #callTimes = new CallTimes();
  readonly #api = new FuturesApi(
    (handle, args, chunk, job) => this.#submit(handle, args, chunk === true, job),
    (options, iterables) => progressTracker(options, knownLength(iterables)),
    (options, iterables, reduce) => this.#jobFor(options, iterables, reduce),
    (handle) => {
      const target = targetOf(handle);
      // A timeout is per task: chunked, it would cover several calls.
      if (target.options.timeout !== undefined) return undefined;
      const key = typeof target.bundle === 'string' ? `${target.bundle}:${target.fn}` : target;
      return this.#callTimes.for(key, (stack) => this.#sourceMaps.mapStack(stack));
    },
  );
  /** Job numbers by name (or by priority, for unnamed calls that set one); 0 is the session's. */
  readonly #jobs = new Map<string, number>();
  #nextReq = 1;
  readonly #sharedReplies = new Map<number, { resolve(): void; reject(e: Error): void }>();
  readonly #sharedValues = new Map<string, unknown>();
  /** Packed bytes of the shared constants set or being set. */
  #sharedBytes = 0;

  /** Read-only constants for every task of this client (SCOOP's setConst):
   * each name is set once, and tasks read it with `shared.get(name)`. */
  readonly shared = {
    set: (values: Record<string, unknown>): Promise<void> => this.#share(values),
    get: (name: string): unknown => {
      if (!this.#sharedValues.has(name)) throw new Error(`no shared constant named "${name}"`);
      return this.#sharedValues.get(name);
    },
  };

  /** @internal use connect() */
  constructor(private readonly channel: Transport) {}

  /** This client's session id at the coordinator (`local` in local mode). */
  get clientId(): string {
    return this.channel.clientId;
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
    const name = inlineName(f);
    const hash = bundleInline(f.toString(), name).then(async (b) => {
      await this.#upload(b);
      return b.hash;
    });
    hash.catch(() => undefined); // reported through each future that uses it
    return makeHandle<F>(name, hash);
  }

  submit<F extends TaskFn>(handle: TaskHandle<F>, ...args: Parameters<F>): Future<ResultOf<F>> {
    return this.#submit(handle, args, false) as Future<ResultOf<F>>;
  }

  /** With `chunk`, `args` are several calls' argument lists (see chunking.ts). */
  #submit(handle: unknown, args: unknown[], chunk: boolean, job?: number): Future<unknown> {
    if (this.#closed) throw new ConnectionError('this grid is closed');
    const target = targetOf(handle);
    const id = this.#nextId++;
    const future = new Future<unknown>(() => this.#withdraw(id));
    this.#futures.set(id, future);
    const packed = packValue(args, 'args');
    if (!(packed instanceof Uint8Array)) {
      this.#futures.delete(id);
      future.setException(new DataCloneError(packed));
      return future;
    }
    // Refused here, a task fails alone instead of sending what the coordinator would refuse.
    const tooLarge = taskBytesError(target.fn, packed.byteLength, this.channel.limits);
    const invalid = taskOptionsError(target.options, this.channel.limits);
    if (tooLarge !== undefined || invalid !== undefined) {
      this.#futures.delete(id);
      future.setException(tooLarge !== undefined ? new LadleError(ErrorCode.TOO_LARGE, tooLarge) : new LadleError(ErrorCode.INVALID_OPTION, invalid!));
      return future;
    }
    const spec = (bundle: string): TaskSpec => ({
      id,
      bundle,
      fn: target.fn,
      args: packed,
      ...target.options,
      ...(target.equal ? { equal: target.equal } : {}),
      ...(chunk ? { chunk: true, calls: args.length } : {}),
      ...(job ? { job } : {}),
    });
    if (typeof target.bundle === 'string') {
      this.#enqueue(spec(target.bundle));
    } else {
      target.bundle.then(
        (bundle) => {
          if (this.#futures.has(id)) this.#enqueue(spec(bundle));
        },
        (e: Error) => {
          this.#futures.delete(id);
          future.setException(new Error(`could not prepare inline task: ${e.message}`));
        },
      );
    }
    return future;
  }

  /** Applies `handle` to each tuple of the zipped iterables (the shortest
   * wins). Await it for the results in input order, or iterate it with
   * for-await to get them in input order as they are ready. A trailing
   * options object sets `inFlight`, `chunkSize`, `progress`, `total` and
   * `onProgress`. A failed call rejects it with `error.index` set. */
  map<F extends TaskFn>(handle: TaskHandle<F>, ...args: MapArgs<F>): MapResult<ResultOf<F>> {
    targetOf(handle);
    return this.#api.map(handle, args) as MapResult<ResultOf<F>>;
  }

  /** Like map, but yields results in the order they complete. */
  mapAsCompleted<F extends TaskFn>(handle: TaskHandle<F>, ...args: MapArgs<F>): MapAsCompleted<ResultOf<F>> {
    targetOf(handle);
    return this.#api.mapAsCompleted(handle, args) as MapAsCompleted<ResultOf<F>>;
  }

  /** Maps, then reduces the results pairwise on the workers as they arrive.
   * `reduce` must be associative; it need not be commutative. */
  mapReduce<F extends TaskFn, R extends (a: ResultOf<F>, b: ResultOf<F>) => unknown>(
    handle: TaskHandle<F>,
    reduce: TaskHandle<R>,
    ...args: MapArgs<F>
  ): Promise<ResultOf<F>> {
    targetOf(handle);
    targetOf(reduce);
    return this.#api.mapReduce(handle, reduce, args) as Promise<ResultOf<F>>;
  }

  /** Yields the given futures as they complete (TimeoutError if `timeout` ms pass first). */
  asCompleted = asCompleted;
  /** Waits for futures: ALL_COMPLETED (default), FIRST_COMPLETED or FIRST_EXCEPTION. */
  wait = wait;

  /** Closes the connection; futures still pending are cancelled. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#failAll(new CancelledError('the grid was closed before this task finished'));
    await this.channel.close();
    await this.#comparer.close();
  }

  // ---- internals ----

  /** The job of a map-like call: the session's unless it has a name or a
   * priority. Tells the coordinator its name, priority and, when the inputs
   * say, how many tasks the call adds (for the dashboard's progress). */
  #jobFor(options: MapOptions, iterables: readonly unknown[], reduce: boolean): number | undefined {
    if (this.#closed) throw new ConnectionError('this grid is closed');
    const error = jobOptionsError(options);
    if (error) throw new LadleError(ErrorCode.INVALID_OPTION, error);
    let job = 0;
    if (options.name !== undefined || options.priority !== undefined) {
      const key = options.name ?? `\0priority ${options.priority}`;
      job = this.#jobs.get(key) ?? this.#jobs.size + 1;
      this.#jobs.set(key, job);
    }
    const calls = options.total ?? knownLength(iterables);
    // A job counts calls, however they are chunked (chunks say how many they carry).
    const adds = calls === undefined ? undefined : calls + (reduce ? Math.max(0, calls - 1) : 0);
    if (job !== 0 || adds !== undefined) this.channel.send(jobMessage(job, options.name, options.priority, adds));
    return job === 0 ? undefined : job;
  }

  async #upload(bundle: Bundle): Promise<void> {
    this.#sourceMaps.add(bundle.hash, bundle.sourceMap);
    // Kept for verify's comparisons, which run here (see comparer.ts).
    this.#codes.set(bundle.hash, bundle.code);
    let pending = this.#uploads.get(bundle.hash);
    if (!pending) {
      pending = this.channel.putBundle(bundle);
      this.#uploads.set(bundle.hash, pending);
      pending.catch(() => this.#uploads.delete(bundle.hash));
    }
    return pending;
  }

  async #share(values: Record<string, unknown>): Promise<void> {
    if (this.#closed) throw new ConnectionError('this grid is closed');
    const packed: Record<string, Uint8Array> = {};
    for (const name of Object.keys(values)) {
      if (!/^[A-Za-z_$][\w$]{0,127}$/.test(name)) throw new TypeError(`shared constant names are identifiers; "${name}" is not`);
      if (this.#sharedValues.has(name)) throw new Error(`shared constants are set once; "${name}" is already set`);
    }
    for (const [name, value] of Object.entries(values)) {
      const bytes = packValue(value, `shared.${name}`);
      if (!(bytes instanceof Uint8Array)) throw new DataCloneError(bytes);
      packed[name] = bytes;
    }
    let bytes = this.#sharedBytes;
    for (const value of Object.values(packed)) bytes += value.byteLength;
    const tooLarge = sharedBytesError(bytes, this.channel.limits);
    if (tooLarge) throw new LadleError(ErrorCode.TOO_LARGE, tooLarge);
    const added = bytes - this.#sharedBytes;
    this.#sharedBytes = bytes;
    const req = this.#nextReq++;
    const done = new Promise<void>((resolve, reject) => this.#sharedReplies.set(req, { resolve, reject }));
    this.channel.send({ t: 'share', req, values: packed });
    try {
      await done;
    } catch (e) {
      this.#sharedBytes -= added;
      throw e;
    }
    for (const [name, value] of Object.entries(values)) this.#sharedValues.set(name, value);
  }

  #enqueue(spec: TaskSpec): void {
    this.#outbox.push(spec);
    this.#scheduleFlush();
  }

  /** Cancels a task that has not started (the Future asks only while it is
   * pending: not yet handed to a Web Worker, as far as the coordinator has
   * told us); the coordinator drops it, and ignores the result of a page
   * that began it meanwhile. */
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
    if (this.#closed) return;
    // A task withdrawn before it was ever sent needs no message at all.
    const tasks = this.#outbox.filter((t) => this.#futures.has(t.id));
    this.#outbox = [];
    // Frames stay within the coordinator's limit, in task order. While
    // reconnecting, the channel keeps them and sends them on resume.
    const maxBytes = this.channel.limits.frameBytes - FRAME_OVERHEAD_BYTES;
    for (const batch of batchesBySize(tasks, taskFrameBytes, maxBytes, MAX_TASKS_PER_FRAME)) this.channel.send({ t: 'submit', tasks: batch });
    for (let i = 0; i < this.#cancels.length; i += MAX_IDS_PER_FRAME) this.channel.send({ t: 'cancel', ids: this.#cancels.slice(i, i + MAX_IDS_PER_FRAME) });
    this.#cancels = [];
  }

  /** @internal frames from the channel */
  onData(msg: ToClientData): void {
    if (msg.t === 'shared') {
      const waiter = this.#sharedReplies.get(msg.req);
      this.#sharedReplies.delete(msg.req);
      if (msg.error) waiter?.reject(new Error(msg.error));
      else waiter?.resolve();
      return;
    }
    if (msg.t === 'waiting') {
      if (msg.verify) {
        const { pages, joined } = msg.verify;
        console.warn(
          `ladle: verified tasks wait: each needs ${pages} distinct pages (on distinct network addresses where pages come from several), ` +
            `and ${joined} ${joined === 1 ? 'is' : 'are'} joined that may run them; they run as more volunteers join`,
        );
      }
      for (const [needs, n] of Object.entries(msg.needs)) {
        console.warn(`ladle: ${n} task${n === 1 ? '' : 's'} need${n === 1 ? 's' : ''} ${needs.split('+').join(' and ')}; no joined page has it (they wait until one joins)`);
      }
      return;
    }
    if (msg.t === 'compare') {
      void this.#comparer.compare(msg.bundle, msg.fn, msg.pairs).then((equal) => {
        if (!this.#closed) this.channel.send({ t: 'compared', req: msg.req, equal });
      });
      return;
    }
    for (const id of msg.started) this.#futures.get(id)?.setRunning();
    for (const outcome of msg.results) this.#settle(outcome);
  }

  #settle(outcome: TaskOutcome): void {
    const future = this.#futures.get(outcome.id);
    if (!future) return; // cancelled, or a duplicate
    this.#futures.delete(outcome.id);
    if (outcome.ms !== undefined) ranMs.set(future, outcome.ms);
    if (outcome.ok) {
      try {
        future.setResult(unpack(outcome.value));
      } catch (e) {
        future.setException(new Error(`the task's result could not be decoded: ${(e as Error).message}`));
      }
    } else {
      future.setException(outcomeError(outcome, (stack) => this.#sourceMaps.mapStack(stack)));
    }
  }

  /** @internal the session is gone for good */
  onLost(error: ConnectionError): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#failAll(error);
  }

  #failAll(error: Error): void {
    const futures = [...this.#futures.values()];
    this.#futures.clear();
    for (const f of futures) f.setException(error);
    for (const waiter of this.#sharedReplies.values()) waiter.reject(error);
    this.#sharedReplies.clear();
  }
}
