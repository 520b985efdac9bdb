// What every scenario needs: a coordinator in its own process, a Chromium
// page joined to it, an SDK client, a Piscina pool, child processes for
// figures that need their own RSS, and cleanup that runs even on Ctrl-C.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { Stats } from '../coordinator/hub.ts';
import { launchWorkers, type LocalWorkers } from '../cli/workers.ts';
import { connect, type Grid, type ModuleHandles } from '../client-sdk/index.ts';
import type { Mem, Reply, Request } from './coordinator-process.ts';
import type * as Kernels from './kernels.mjs';

export const here = (name: string) => fileURLToPath(new URL(name, import.meta.url));
const tsxLoader = new URL('../node_modules/tsx/dist/loader.mjs', import.meta.url).href;
export const resultsDir = here('results');
/** BENCH_PROFILE=1 writes .cpuprofile files of the coordinator and SDK children here. */
export const profiling = process.env.BENCH_PROFILE === '1';
const profileArgs = (name: string) => (profiling ? ['--cpu-prof', '--cpu-prof-dir', `${resultsDir}/profiles`, '--cpu-prof-name', `${name}-${Date.now()}.cpuprofile`] : []);

// ---- cleanup: every process and browser we start is registered here ----
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

// ---- the coordinator process ----
export interface CoordinatorProcess {
  url: string;
  token: string;
  /** Memory of the coordinator process; `gc` collects first (it runs with --expose-gc). */
  mem(gc?: boolean): Promise<Mem>;
  stats(): Promise<Stats>;
  stop(): Promise<void>;
}

export async function forkCoordinator(): Promise<CoordinatorProcess> {
  const child = fork(here('coordinator-process.ts'), [], {
    execArgv: ['--import', tsxLoader, '--expose-gc', ...profileArgs('coordinator')],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiting = new Map<number, (r: Reply) => void>();
  let nextId = 1;
  const ready = new Promise<Extract<Reply, { t: 'ready' }>>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the coordinator process exited (${code}) before it was ready`)));
    child.on('message', (r: Reply) => {
      if (r.t === 'ready') resolve(r);
      else waiting.get(r.id)?.(r);
    });
  });
  const ask = <T extends Reply>(req: Omit<Request, 'id'>): Promise<T> => {
    const id = nextId++;
    return new Promise<T>((resolve) => {
      waiting.set(id, (r) => {
        waiting.delete(id);
        resolve(r as T);
      });
      child.send({ ...req, id });
    });
  };
  const stop = async () => {
    unregister();
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.send({ id: 0, t: 'stop' } satisfies Request);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  const unregister = onCleanup(stop);
  const { url, token } = await ready;
  return {
    url,
    token,
    mem: async (gc = false) => (await ask<Extract<Reply, { t: 'mem' }>>({ t: 'mem', gc })).mem,
    stats: async () => (await ask<Extract<Reply, { t: 'stats' }>>({ t: 'stats' })).stats,
    stop,
  };
}

export async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ---- a whole grid: coordinator process + one Chromium page + SDK ----
export interface BenchGrid {
  coordinator: CoordinatorProcess;
  workers: LocalWorkers;
  grid: Grid;
  kernels: ModuleHandles<typeof Kernels>;
  close(): Promise<void>;
}

/** Filled by the first grid started, for the report's conditions. */
export let chromiumVersion: string | undefined;

export async function startGrid(threads = 2): Promise<BenchGrid> {
  const coordinator = await forkCoordinator();
  const workers = await launchWorkers({ url: coordinator.url, count: 1, threads });
  const unregisterBrowser = onCleanup(() => workers.close());
  chromiumVersion ??= workers.browser.version();
  await until('the page to join', async () => (await coordinator.stats()).threads === threads);
  const grid = await connect({ url: coordinator.url, token: coordinator.token });
  const kernels = await grid.module<typeof Kernels>(new URL('./kernels.mjs', import.meta.url));
  return {
    coordinator,
    workers,
    grid,
    kernels,
    async close() {
      await grid.close();
      unregisterBrowser();
      await workers.close();
      await coordinator.stop();
    },
  };
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
export function startPool(threads = 2): { pool: Piscina; close(): Promise<void> } {
  const pool = new Piscina({ filename: here('kernels.mjs'), minThreads: threads, maxThreads: threads, idleTimeout: 60_000 });
  const close = () => pool.destroy();
  const unregister = onCleanup(close);
  return {
    pool,
    close: async () => {
      unregister();
      await close();
    },
  };
}

export async function withPool<T>(fn: (pool: Piscina) => Promise<T>, threads = 2): Promise<T> {
  const { pool, close } = startPool(threads);
  try {
    return await fn(pool);
  } finally {
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
