// A durable coordinator (--data) stopped in the middle of a 2,000-task map
// from an SDK in its own process, then started again on the same port and
// folder: the map completes, every result arrives once, and what the store
// had recorded as finished does not run again. One page serves the whole
// file (it rejoins each coordinator by itself); each test leaves a
// coordinator up on the same port and folder for the next.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { Page } from 'playwright-core';
import { launchWorkers, type LocalWorkers } from '../../cli/workers.ts';
import { runLadle, statsUntil, type LadleProcess } from '../helpers/cli.ts';
import { testBrowser } from '../helpers/grid.ts';
import { unpack } from '../../protocol/codec.ts';

const N = 2000;
const TOKEN = 'durable-secret';

type PageGlobals = { ladle: { status: { state: string } }; runs: Record<number, number> };

let dir: string;
let port = 0;
let url: string;
let current: LadleProcess;
let workers: LocalWorkers;
let page: Page;

async function startCoordinator(): Promise<void> {
  current = runLadle(['coordinator', '--host', '127.0.0.1', '--port', String(port), '--token', TOKEN, '--data', dir, '--drain-timeout', '20']);
  // Starting builds the site with esbuild: slow on a loaded machine.
  [, url] = await current.waitFor(/^\s+(http:\/\/127\.0\.0\.1:\d+)$/m, 90_000);
  await current.waitFor(new RegExp(`LADLE_TOKEN=${TOKEN}`));
  port = Number(new URL(url).port);
}

/** The SDK program, in its own process: resolves with how often each value arrived. */
function mapInAnotherProcess(): { mapping: Promise<void>; arrived: Promise<Record<string, number>> } {
  const script = fileURLToPath(new URL('../fixtures/durable-client.ts', import.meta.url));
  const tsx = fileURLToPath(new URL('../../node_modules/tsx/dist/cli.mjs', import.meta.url));
  const proc = spawn(process.execPath, [tsx, script, String(N)], { env: { ...process.env, LADLE_URL: url, LADLE_TOKEN: TOKEN }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let mapped: () => void;
  const mapping = new Promise<void>((resolve) => (mapped = resolve));
  proc.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    if (out.includes('mapping\n')) mapped();
  });
  proc.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const arrived = new Promise<Record<string, number>>((resolve, reject) =>
    proc.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!) as Record<string, number>) : reject(new Error(`the SDK process exited with ${code}:\n${out}`)))),
  );
  return { mapping, arrived };
}

/** The inputs of the tasks the store holds as unfinished (read after the coordinator stopped). */
function unfinishedInStore(): Set<number> {
  const db = new Database(join(dir, 'ladle.db'), { readonly: true });
  try {
    const rows = db.prepare('SELECT args FROM tasks').all() as { args: Buffer }[];
    return new Set(rows.map((r) => (unpack(new Uint8Array(r.args)) as [number])[0]));
  } finally {
    db.close();
  }
}

const runsOnPage = () => page.evaluate(() => ({ ...(globalThis as unknown as PageGlobals).runs }));

/** Stops the coordinator with `signal` mid-map and starts it again; checks what the brief promises. */
async function interruptMap(signal: NodeJS.Signals): Promise<{ exitCode: number | null }> {
  await page.evaluate(() => {
    (globalThis as unknown as PageGlobals).runs = {};
  });
  const client = mapInAnotherProcess();
  await client.mapping;
  await page.waitForFunction((n) => Object.keys((globalThis as unknown as PageGlobals).runs).length >= n, N / 4, { timeout: 120_000 });
  const stopping = current;
  stopping.proc.kill(signal);
  const exitCode = await stopping.exited;
  await page.waitForFunction(() => (globalThis as unknown as PageGlobals).ladle.status.state !== 'connected');
  const ranBefore = Object.keys(await runsOnPage()).map(Number);
  const unfinished = unfinishedInStore();
  const finished = ranBefore.filter((x) => !unfinished.has(x));
  assert.ok(finished.length >= N / 8 && unfinished.size > 0, `the store held ${finished.length} of the ${ranBefore.length} runs as finished, ${unfinished.size} tasks unfinished`);

  await startCoordinator();
  const arrived = await client.arrived;
  const once: Record<string, number> = {};
  for (let x = 0; x < N; x++) once[2 * x + 1] = 1;
  assert.deepEqual(arrived, once, 'every result, each once');
  const runs = await runsOnPage();
  const again = Object.entries(runs).filter(([, n]) => n > 1).map(([x]) => Number(x));
  const missing = Array.from({ length: N }, (_, x) => x).filter((x) => !(x in runs) && !ranBefore.includes(x));
  assert.deepEqual(missing, [], 'every input ran');
  assert.deepEqual(again.filter((x) => !unfinished.has(x)), [], 'nothing the store held as finished ran again');
  return { exitCode };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ladle-durable-'));
  await startCoordinator();
  workers = await launchWorkers({ url, browser: await testBrowser(), count: 1, threads: 2 });
  page = workers.pages[0];
  await page.evaluate(() => {
    const g = globalThis as unknown as PageGlobals;
    g.runs = {};
    new BroadcastChannel('ladle-durable-test').onmessage = (e: MessageEvent<number>) => {
      g.runs[e.data] = (g.runs[e.data] ?? 0) + 1;
    };
  });
});

after(async () => {
  await workers?.close();
  await current?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('SIGKILL mid-map, restart on the same port and --data: the map completes, each result once, finished work not rerun', { timeout: 300_000 }, async () => {
  await interruptMap('SIGKILL');
});

test('SIGTERM mid-map drains (exit 0) and the restarted coordinator completes the map the same way', { timeout: 300_000 }, async () => {
  const { exitCode } = await interruptMap('SIGTERM');
  assert.equal(exitCode, 0);
});

test('a restart with nothing to resume starts clean, and keeps the totals and job records', { timeout: 120_000 }, async () => {
  current.proc.kill('SIGTERM');
  assert.equal(await current.exited, 0);
  assert.deepEqual(unfinishedInStore(), new Set());
  await startCoordinator();
  const stats = await statsUntil({ url, adminToken: TOKEN }, (s) => s.workers === 1);
  assert.deepEqual([stats.clients, stats.queued, stats.running], [0, 0, 0]);
  assert.equal(stats.completed >= 2 * N, true, `completed ${stats.completed}`);
  assert.deepEqual(stats.jobs?.map((j) => [j.done, j.active]), [[N, false], [N, false]]);
});
