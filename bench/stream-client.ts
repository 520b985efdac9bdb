// Child process of the memory scenario, so its peak RSS is the SDK's own:
// streams a generator of N items through grid.map and checks order.
import { connect } from '../client-sdk/index.ts';
import type * as Kernels from './kernels.mjs';

const n = Number(process.argv[2]);
const grid = await connect();
const kernels = await grid.module<typeof Kernels>(new URL('./kernels.mjs', import.meta.url));
function* items() {
  for (let i = 0; i < n; i++) yield i;
}
let count = 0;
let inOrder = true;
const t0 = performance.now();
for await (const y of grid.map(kernels.identity, items())) {
  if (y !== count) inOrder = false;
  count++;
}
const seconds = (performance.now() - t0) / 1000;
await grid.close();
// maxRSS is the kernel's high-water mark for this process, in KiB.
console.log(JSON.stringify({ count, inOrder, seconds, peakRss: process.resourceUsage().maxRSS * 1024 }));
