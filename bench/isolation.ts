// What isolating clients costs a page (issue 13): a Web Worker serves one
// client for its life, so a page whose threads all serve other clients
// replaces one before it runs a new client's task: a fresh worker starts
// (its script is a blob: URL already in the page) and imports the task
// bundle again (the page holds its text: no fetch, no IndexedDB read).
// Two clients take turns on one page of 1 Web Worker, one small task each,
// so every task needs a fresh worker; the same tasks from one client need
// none. A single client's throughput is the trivial and cpu scenarios.
import { connect } from '../client-sdk/index.ts';
import type * as Kernels from './kernels.mjs';
import { ms, percentile, withGrid } from './harness.ts';
import { rate, type ScenarioResult } from './table.ts';

const TURNS = 60;

export function isolation(): Promise<ScenarioResult> {
  return withGrid(async ({ grid, kernels, coordinator }) => {
    const others = [await connect({ url: coordinator.url, token: coordinator.token })];
    try {
      const clients = [{ grid, kernels }];
      for (const other of others) clients.push({ grid: other, kernels: await other.module<typeof Kernels>(new URL('./kernels.mjs', import.meta.url)) });
      const once = async (c: (typeof clients)[number], i: number): Promise<number> => {
        const t0 = ms();
        if ((await c.grid.submit(c.kernels.identity, i)) !== i) throw new Error('isolation: wrong result');
        return ms() - t0;
      };
      // Warm-up: every client's bundle loaded in the page, the functions known.
      for (let i = 0; i < 20; i++) await once(clients[i % 2], i);
      const same: number[] = [];
      const switching: number[] = [];
      // Interleaved, so both sample the same moments of the machine.
      for (let i = 0; i < TURNS; i++) {
        for (let k = 0; k < 2; k++) switching.push(await once(clients[k], i));
        for (let k = 0; k < 2; k++) same.push(await once(clients[0], i));
      }
      same.sort((a, b) => a - b);
      switching.sort((a, b) => a - b);
      return {
        rows: [
          rate('isolation: round trip p50, each task a new client vs one client', 'ms', percentile(switching, 50), percentile(same, 50)),
          rate('isolation: round trip p90, the same', 'ms', percentile(switching, 90), percentile(same, 90)),
        ],
        detail: { turns: TURNS, clients: 2, threads: 1, switchingMs: switching, sameMs: same },
      };
    } finally {
      for (const other of others) await other.close();
    }
  }, 1);
}
