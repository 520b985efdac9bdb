// What every scenario needs: a coordinator and a Chromium page each in their
// own process, an SDK client, a Piscina pool, child processes for figures
// that need their own RSS, and cleanup that runs even on Ctrl-C.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { WebSocket, WebSocketServer } from 'ws';
import type { Stats } from '../coordinator/stats.ts';
import { connect, type Grid, type ModuleHandles } from '../client-sdk/index.ts';
import type { CoordinatorReply, CoordinatorRequest, Mem } from './coordinator-process.ts';
import type { BrowserReply, BrowserRequest } from './browser-process.ts';
import type { RelayReply, RelayRequest } from './relay-process.ts';
import type * as Kernels from './kernels.mjs';

export const here = (name: string) => fileURLToPath(new URL(name, import.meta.url));
const tsxLoader = new URL('../node_modules/tsx/dist/loader.mjs', import.meta.url).href;
export const resultsDir = here('results');
/** BENCH_PROFILE=1 writes .cpuprofile files of every Ladle process to results/profiles/. */
export const profiling = process.env.BENCH_PROFILE === '1';
// A folder per process: Node writes one profile per thread (tsx's loader has its own).
const profileArgs = (name: string) => (profiling ? ['--cpu-prof', '--cpu-prof-interval', '100', '--cpu-prof-dir', `${resultsDir}/profiles/${name}-${Date.now()}`] : []);

// ---- cleanup: every process we start is registered here ----
const closers = new Set<() => Promise<void>>();
export function onCleanup(close: () => Promise<void>): () => void {
  closers.add(close);
  return () => closers.delete(close);
}
export async function cleanupAll(): Promise<void> {
  const all = [...closers].reverse();
  closers.clear();
  for (const close of all) await close().catch(() => undefined);
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => void cleanupAll().finally(() => process.exit(130)));
}

// ---- services: child processes driven over IPC ----
type Numbered = { id: number; t: string };
/** A request before it gets its id (Omit spread over each member of the union). */
type Unnumbered<R> = R extends unknown ? Omit<R, 'id'> : never;

interface Service<Req extends Numbered, Rep extends { t: string }> {
  ready: Extract<Rep, { t: 'ready' }>;
  ask<T extends Rep>(req: Unnumbered<Req>): Promise<T>;
  stop(): Promise<void>;
}

async function forkService<Req extends Numbered, Rep extends { t: string }>(script: string, args: string[], execArgv: string[]): Promise<Service<Req, Rep>> {
  const child = fork(here(script), args, { execArgv: ['--import', tsxLoader, ...execArgv], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiting = new Map<number, (r: Rep) => void>();
  let nextId = 1;
  const ready = new Promise<Extract<Rep, { t: 'ready' }>>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${script} exited (${code}) before it was ready`)));
    child.on('message', (r: Rep & { id?: number }) => {
      if (r.t === 'ready') resolve(r as Extract<Rep, { t: 'ready' }>);
      else if (r.id !== undefined) waiting.get(r.id)?.(r);
    });
  });
  const ask = <T extends Rep>(req: Unnumbered<Req>): Promise<T> => {
    const id = nextId++;
    return new Promise<T>((resolve) => {
      waiting.set(id, (r) => {
        waiting.delete(id);
        resolve(r as T);
      });
      child.send({ ...req, id });
    });
  };
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      unregister();
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      if (child.connected) child.send({ id: 0, t: 'stop' });
      await exited;
      clearTimeout(timer);
    })());
  const unregister = onCleanup(stop);
  try {
    return { ready: await ready, ask, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

// ---- the coordinator process ----
export interface CoordinatorProcess {
  url: string;
  token: string;
  /** Memory of the coordinator process; `gc` collects first (it runs with --expose-gc). */
  mem(gc?: boolean): Promise<Mem>;
  stats(): Promise<Stats>;
  /** Bytes of its ladle.db (and log) on disk: 0 unless durable. */
  storeBytes(): Promise<number>;
  stop(): Promise<void>;
}

export interface CoordinatorFlags {
  /** WebRTC peer offloading (default on, as startCoordinator's). */
  peerOffload?: boolean;
  /** A durable coordinator (--data): its state in SQLite. */
  durable?: boolean;
}

export async function forkCoordinator(flags: CoordinatorFlags = {}): Promise<CoordinatorProcess> {
  const args = [...(flags.peerOffload === false ? ['--no-peer-offload'] : []), ...(flags.durable ? ['--durable'] : [])];
  const s = await forkService<CoordinatorRequest, CoordinatorReply>('coordinator-process.ts', args, ['--expose-gc', ...profileArgs('coordinator')]);
  return {
    url: s.ready.url,
    token: s.ready.token,
    mem: async (gc = false) => (await s.ask<Extract<CoordinatorReply, { t: 'mem' }>>({ t: 'mem', gc })).mem,
    stats: async () => (await s.ask<Extract<CoordinatorReply, { t: 'stats' }>>({ t: 'stats' })).stats,
    storeBytes: async () => (await s.ask<Extract<CoordinatorReply, { t: 'storeBytes' }>>({ t: 'storeBytes' })).bytes,
    stop: s.stop,
  };
}

/** Filled by the first browser started, for the report's conditions. */
export let chromiumVersion: string | undefined;

/** Headless Chromium pages (in their own process) joined to `c`; resolves
 * once they count. `browserArgs`: extra Chromium flags (a `--user-agent` that
 * a task module reads, say). */
/** The floors under a round trip through a page of a browser: see forkBrowser. */
export interface Floors {
  echoFloor(): Promise<number[]>;
  relayFloor(): Promise<number[]>;
}

/** ms per echo of `batches` batches of `size` sequential 40-byte echoes of `ws`, after 200 to warm up. */
async function echoBatches(ws: WebSocket, batches: number, size: number): Promise<number[]> {
  const echo = () =>
    new Promise<void>((resolve) => {
      ws.once('message', () => resolve());
      ws.send(new Uint8Array(40));
    });
  for (let i = 0; i < 200; i++) await echo();
  const out: number[] = [];
  for (let b = 0; b < batches; b++) {
    const t0 = ms();
    for (let i = 0; i < size; i++) await echo();
    out.push((ms() - t0) / size);
  }
  return out;
}

export async function forkBrowser(c: CoordinatorProcess, pages: number, threads: number, browserArgs: string[] = []): Promise<{ stop(): Promise<void> } & Floors> {
  // Threads already joined (another browser's): these pages count on top.
  const joined = (await c.stats()).threads;
  const s = await forkService<BrowserRequest, BrowserReply>('browser-process.ts', [c.url, String(pages), String(threads), ...browserArgs], []);
  chromiumVersion ??= s.ready.version;
  await until('the pages to join', async () => (await c.stats()).threads === joined + pages * threads);
  return {
    stop: s.stop,
    /** ms per echo, in 20 batches of 100, of a settled page of this browser
     * and a WebSocket echo server in this process. */
    async echoFloor() {
      const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
      await once(server, 'listening');
      server.on('connection', (ws) => ws.on('message', (data) => ws.send(data)));
      try {
        const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
        return (await s.ask<Extract<BrowserReply, { t: 'echoed' }>>({ t: 'echo', url, batches: 20, size: 100 })).msPerEcho;
      } finally {
        server.close();
      }
    },
    /** ms per echo, in 20 batches of 100, of a Node WebSocket client here
     * -> a relay process -> a page of this browser and back: the two socket
     * legs and two process wake-ups that any grid round trip has
     * (SDK -> coordinator -> page), with no work. */
    async relayFloor() {
      const relay = await forkService<RelayRequest, RelayReply>('relay-process.ts', [], []);
      try {
        await s.ask({ t: 'relay', url: `${relay.ready.url}/page` });
        const ws = new WebSocket(`${relay.ready.url}/client`);
        await once(ws, 'open');
        try {
          return await echoBatches(ws, 20, 100);
        } finally {
          ws.close();
        }
      } finally {
        await relay.stop();
      }
    },
  };
}

export async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ---- a whole grid: coordinator process + one Chromium page + SDK here ----
export interface BenchGrid extends Floors {
  coordinator: CoordinatorProcess;
  grid: Grid;
  kernels: ModuleHandles<typeof Kernels>;
  close(): Promise<void>;
}

export async function startGrid(threads = 2, flags: CoordinatorFlags = {}): Promise<BenchGrid> {
  const coordinator = await forkCoordinator(flags);
  try {
    const browser = await forkBrowser(coordinator, 1, threads);
    const grid = await connect({ url: coordinator.url, token: coordinator.token });
    const kernels = await grid.module<typeof Kernels>(new URL('./kernels.mjs', import.meta.url));
    return {
      coordinator,
      echoFloor: browser.echoFloor,
      relayFloor: browser.relayFloor,
      grid,
      kernels,
      async close() {
        await grid.close();
        await browser.stop();
        await coordinator.stop();
      },
    };
  } catch (e) {
    await cleanupAll();
    throw e;
  }
}

export async function withGrid<T>(fn: (g: BenchGrid) => Promise<T>, threads = 2): Promise<T> {
  const g = await startGrid(threads);
  try {
    return await fn(g);
  } finally {
    await g.close();
  }
}

// ---- the baseline: Piscina over the very same kernels ----
export async function withPool<T>(fn: (pool: Piscina) => Promise<T>, threads = 2): Promise<T> {
  const pool = new Piscina({ filename: here('kernels.mjs'), minThreads: threads, maxThreads: threads, idleTimeout: 60_000 });
  const close = () => pool.destroy();
  const unregister = onCleanup(close);
  try {
    return await fn(pool);
  } finally {
    unregister();
    await close();
  }
}

/** Piscina's counterpart of `grid.map`: input order, at most `inFlight` tasks
 * outstanding (Ladle's map default is 4096). */
export async function piscinaMap<T, R>(pool: Piscina, name: string, items: readonly T[], inFlight = 4096): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = (await pool.run(items[i], { name })) as R;
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, items.length) }, lane));
  return out;
}

// ---- child processes whose RSS must be their own ----
/** Runs a bench script in its own Node process; its last stdout line is JSON. */
export function runChild<T>(script: string, args: string[], env: Record<string, string> = {}, profileName?: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const child: ChildProcess = fork(here(script), args, {
      execArgv: ['--import', tsxLoader, ...(profileName ? profileArgs(profileName) : [])],
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    });
    const unregister = onCleanup(async () => {
      child.kill('SIGKILL');
    });
    let stdout = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.once('exit', (code) => {
      unregister();
      const last = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0) reject(new Error(`${script} exited with ${code}: ${last}`));
      else resolve(JSON.parse(last) as T);
    });
  });
}

// ---- numbers ----
export function percentile(sorted: readonly number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export const ms = () => performance.now();
