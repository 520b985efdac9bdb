// 4. One coordinator (its own process) and 1,000 simulated pages: protocol-
// level clients in this process that answer every `tasks` frame at once with
// the args echoed as values. Measures dispatch rate and the coordinator's
// memory per connected page and per queued task.
import WebSocket from 'ws';
import { unpack } from '../protocol/codec.ts';
import { PROTOCOL_VERSION, WS_PATH, encodeFrame, type TaskOutcome, type ToPage } from '../protocol/messages.ts';
import { connect, type Future } from '../client-sdk/index.ts';
import type * as Kernels from './kernels.mjs';
import { forkCoordinator, ms, onCleanup, until, type CoordinatorProcess } from './harness.ts';
import { rate, type ScenarioResult } from './table.ts';

const PAGES = 1_000;
const DISPATCH = 200_000;
const QUEUED = 200_000;

/** A protocol-level page: answers every task at once with its packed args as the value. */
export function simPage(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('error', reject);
    ws.on('open', () => ws.send(encodeFrame({ t: 'hello', role: 'worker', threads: 1, userAgent: 'sim', version: PROTOCOL_VERSION })));
    ws.on('message', (data: Buffer) => {
      // Trusted peer, hot path: skip validation, as a real page's cost is not what is measured here.
      const msg = unpack(data) as ToPage;
      if (msg.t === 'welcome') resolve(ws);
      else if (msg.t === 'ping') ws.send(encodeFrame({ t: 'pong' }));
      else if (msg.t === 'tasks') {
        const started: number[] = [];
        const results: TaskOutcome[] = [];
        for (const t of msg.tasks) {
          started.push(t.id);
          results.push({ id: t.id, ok: true, value: t.args });
        }
        ws.send(encodeFrame({ t: 'report', started, results, lost: [], submit: [], cancel: [], blocked: 0, ready: 0, local: 0 }));
      }
    });
  });
}

export const wsUrl = (c: CoordinatorProcess) => `${c.url.replace(/^http/, 'ws')}${WS_PATH}`;

async function connectPages(c: CoordinatorProcess): Promise<WebSocket[]> {
  const url = wsUrl(c);
  const pages: WebSocket[] = [];
  onCleanup(async () => closePages(pages));
  // In waves, so the listen backlog never overflows.
  for (let i = 0; i < PAGES; i += 100) {
    pages.push(...(await Promise.all(Array.from({ length: Math.min(100, PAGES - i) }, () => simPage(url)))));
  }
  return pages;
}

export async function closePages(pages: WebSocket[]): Promise<void> {
  await Promise.all(
    pages.map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === ws.CLOSED) return resolve();
          ws.once('close', () => resolve());
          ws.close();
        }),
    ),
  );
}

export async function scale(): Promise<ScenarioResult> {
  const c = await forkCoordinator();
  try {
    const idle = await c.mem(true);
    const pages = await connectPages(c);
    await until('1,000 simulated pages to join', async () => (await c.stats()).workers === PAGES);
    const joined = await c.mem(true);
    const perPage = (joined.rss - idle.rss) / PAGES;
    const perPageHeap = (joined.heapUsed - idle.heapUsed) / PAGES;

    const grid = await connect({ url: c.url, token: c.token });
    try {
      const kernels = await grid.module<typeof Kernels>(new URL('./kernels.mjs', import.meta.url));
      const items = Array.from({ length: DISPATCH }, (_, i) => i);
      await grid.map(kernels.identity, items.slice(0, 20_000));
      const before = await c.mem(true);
      // Sampled during the run: memory should stay flat while 200k tasks pass through.
      let peakRss = before.rss;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          peakRss = Math.max(peakRss, (await c.mem()).rss);
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      const t0 = ms();
      const out = await grid.map(kernels.identity, items);
      const dispatchMs = ms() - t0;
      sampling = false;
      await sampler;
      // The pages echo the packed args, so each value comes back as its argument list.
      const last = out[DISPATCH - 1] as unknown;
      if (out.length !== DISPATCH || !Array.isArray(last) || last[0] !== DISPATCH - 1) throw new Error('scale: results do not match inputs');
      const after = await c.mem(true);

      await closePages(pages);
      await until('the simulated pages to leave', async () => (await c.stats()).workers === 0);
      const empty = await c.mem(true);
      const futures: Future<number>[] = [];
      for (let i = 0; i < QUEUED; i++) futures.push(grid.submit(kernels.identity, i));
      await until('200,000 tasks to be queued', async () => (await c.stats()).queued === QUEUED);
      const queued = await c.mem(true);
      const perTask = (queued.rss - empty.rss) / QUEUED;
      const perTaskHeap = (queued.heapUsed - empty.heapUsed) / QUEUED;
      const tasksPerSecond = DISPATCH / (dispatchMs / 1000);
      return {
        rows: [
          rate('scale: 1,000 sim pages, 200k tasks', 'tasks/s', tasksPerSecond, undefined, { target: '>= 20,000', met: tasksPerSecond >= 20_000 }),
          rate('scale: coordinator RSS per connected page', 'bytes', perPage, undefined),
          rate('scale: coordinator heap per connected page', 'bytes', perPageHeap, undefined),
          rate('scale: coordinator RSS per queued task', 'bytes', perTask, undefined),
          rate('scale: coordinator heap per queued task', 'bytes', perTaskHeap, undefined),
          rate('scale: coordinator RSS growth over the 200k run', 'MB', (after.rss - before.rss) / 2 ** 20, undefined),
        ],
        detail: {
          pages: PAGES,
          dispatched: DISPATCH,
          dispatchMs,
          perPageRss: perPage,
          perPageHeap,
          perTaskRss: perTask,
          perTaskHeap,
          rssMB: { idle: idle.rss / 2 ** 20, joined: joined.rss / 2 ** 20, beforeRun: before.rss / 2 ** 20, peakDuringRun: peakRss / 2 ** 20, afterRun: after.rss / 2 ** 20, queued: queued.rss / 2 ** 20 },
        },
      };
    } finally {
      await grid.close();
      await closePages(pages);
    }
  } finally {
    await c.stop();
  }
}
