// What durability costs (issue 16): the trivial map on a coordinator in
// memory and on one that journals to SQLite (--data), in the same run, taking
// turns; then the size of ladle.db while a long map streams through the
// durable one (the rows of finished, acknowledged tasks are deleted, so it
// stays near the in-flight work's size).
import { ms, startGrid, type BenchGrid } from './harness.ts';
import { rate, type ScenarioResult } from './table.ts';

const REPS = Number(process.env.BENCH_REPS ?? 2);
const N = 50_000;
/** Tasks of the long map (BENCH_DURABLE_TASKS; default a million). */
const LONG = Number(process.env.BENCH_DURABLE_TASKS ?? 1_000_000);

async function mapMs(g: BenchGrid, items: number[]): Promise<number> {
  const t0 = ms();
  // One task per call: what is measured is the journal's cost per task (chunks would hide it).
  const out = await g.grid.map(g.kernels.identity, items, { chunkSize: 1 });
  if (out.length !== items.length || out.some((y, i) => y !== items[i])) throw new Error('durable bench: wrong results');
  return ms() - t0;
}

export async function durable(): Promise<ScenarioResult> {
  const items = Array.from({ length: N }, (_, i) => i);
  const memory = await startGrid(2);
  let memoryOpen = true;
  let stored: BenchGrid | undefined;
  try {
    stored = await startGrid(2, { durable: true });
    for (const g of [memory, stored]) await mapMs(g, items.slice(0, 5_000));
    const memoryMs: number[] = [];
    const durableMs: number[] = [];
    // Interleaved, so both sample the same moments of the machine.
    for (let r = 0; r < REPS; r++) {
      memoryMs.push(await mapMs(memory, items));
      durableMs.push(await mapMs(stored, items));
    }
    const memoryRate = N / (Math.min(...memoryMs) / 1000);
    const durableRate = N / (Math.min(...durableMs) / 1000);
    await memory.close();
    memoryOpen = false;

    // The long map streams from a generator; the file is sampled as it runs.
    function* long() {
      for (let i = 0; i < LONG; i++) yield i;
    }
    let peak = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, await stored.coordinator.storeBytes());
        await new Promise((r) => setTimeout(r, 500));
      }
    })();
    const t0 = ms();
    let count = 0;
    for await (const y of stored.grid.map(stored.kernels.identity, long(), { chunkSize: 1 })) {
      if (y !== count) throw new Error(`durable bench: result ${count} is ${y}`);
      count++;
    }
    const longMs = ms() - t0;
    sampling = false;
    await sampler;
    const after = await stored.coordinator.storeBytes();
    peak = Math.max(peak, after);
    const mb = (b: number) => b / 2 ** 20;
    const label = LONG >= 1e6 ? `${LONG / 1e6}M` : `${LONG / 1e3}k`;
    return {
      rows: [
        rate('durable: trivial map 50k, one task per call, --data (SQLite) vs in memory', 'tasks/s', durableRate, memoryRate, { target: '>= 0.9x', met: durableRate >= 0.9 * memoryRate }),
        rate(`durable: ladle.db after a ${label}-task map`, 'MiB', mb(after), undefined),
        rate(`durable: ladle.db at its largest during that map`, 'MiB', mb(peak), undefined),
      ],
      detail: { items: N, memoryMs, durableMs, longTasks: LONG, longMs, longRate: LONG / (longMs / 1000), storeBytesAfter: after, storeBytesPeak: peak },
    };
  } finally {
    if (memoryOpen) await memory.close();
    await stored?.close();
  }
}
