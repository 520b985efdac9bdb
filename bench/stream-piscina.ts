// The memory scenario's baseline, in its own process: the same generator
// through Piscina with the same bound on tasks in flight, results consumed
// in input order as grid.map's for-await yields them.
import { Piscina } from 'piscina';
import { fileURLToPath } from 'node:url';

const n = Number(process.argv[2]);
const inFlight = 4096;
const pool = new Piscina({ filename: fileURLToPath(new URL('./kernels.mjs', import.meta.url)), minThreads: 2, maxThreads: 2 });
const window: Promise<number>[] = [];
let next = 0;
let count = 0;
let inOrder = true;
const t0 = performance.now();
while (next < n || window.length > 0) {
  while (next < n && window.length < inFlight) window.push(pool.run(next++, { name: 'identity' }) as Promise<number>);
  const y = await window.shift()!;
  if (y !== count) inOrder = false;
  count++;
}
const seconds = (performance.now() - t0) / 1000;
await pool.destroy();
console.log(JSON.stringify({ count, inOrder, seconds, peakRss: process.resourceUsage().maxRSS * 1024 }));
