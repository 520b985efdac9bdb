// `npm run bench -- wasm`: the Mandelbrot kernel (demo/kernels) as Wasm and
// as JavaScript, in a Chromium Web Worker and in Node (iterations per µs);
// the first-task latency of a task module carrying a 5 MiB Wasm module, on a
// fresh page (cold: fetched) and a reloaded one (warm: from IndexedDB); and a
// WebGPU compute shader on SwiftShader, for correctness only (a software
// adapter's speed says nothing of a GPU's).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../client-sdk/index.ts';
import { launchWorkers, joinUrl } from '../cli/workers.ts';
import { buildKernels, KERNELS } from '../demo/kernels/build.ts';
import { tileJs } from '../demo/mandelbrot-js.ts';
import { forkCoordinator, ms, onCleanup, until } from './harness.ts';
import { rate, type Row, type ScenarioResult } from './table.ts';
import type * as WasmTasks from './wasm-tasks.ts';
import type * as Gpu from '../tests/fixtures/gpu.ts';

const REPS = 8;
const MAX_ITER = 256;
const BIG_BYTES = 5 * 1024 * 1024;

/** A valid Wasm module of about `bytes` bytes: an exported memory whose data segment fills it. */
function bigModule(bytes: number): Uint8Array {
  const leb = (n: number) => {
    const out: number[] = [];
    do {
      let b = n & 0x7f;
      n >>>= 7;
      if (n) b |= 0x80;
      out.push(b);
    } while (n);
    return out;
  };
  const pages = Math.ceil(bytes / 65536) + 1;
  const data = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) data[i] = (i * 2654435761) >>> 24;
  const memory = [1, 0, ...leb(pages)];
  const exp = [1, 3, ...Buffer.from('mem'), 2, 0];
  const segment = [1, 0, 0x41, 0, 0x0b, ...leb(bytes)];
  const section = (id: number, body: number[] | Uint8Array, tail?: Uint8Array) => {
    const len = body.length + (tail?.length ?? 0);
    return [Uint8Array.from([id, ...leb(len)]), Uint8Array.from(body), ...(tail ? [tail] : [])];
  };
  const parts = [Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]), ...section(5, memory), ...section(7, exp), ...section(11, segment, data)];
  return Uint8Array.from(Buffer.concat(parts));
}

const BIG_TASK = `import big from './big.wasm';
export function firstByte(): number {
  const { mem } = new WebAssembly.Instance(big).exports as { mem: WebAssembly.Memory };
  return new Uint8Array(mem.buffer)[1];
}
`;

function perMicrosecond(t: { ms: number; iterations: number }): number {
  return t.iterations / (t.ms * 1000);
}

export async function wasmScenario(): Promise<ScenarioResult> {
  await buildKernels();
  const rows: Row[] = [];
  const detail: Record<string, unknown> = {};

  // ---- Node: the kernel called directly in this process ----
  const nodeKernel = new WebAssembly.Instance(new WebAssembly.Module(await readFile(KERNELS.mandelbrot.wasm)), { env: { abort: () => undefined } }).exports as unknown as {
    tile: (...a: number[]) => number;
  };
  const out = new Uint16Array(256 * 256);
  const best = (f: () => { ms: number; iterations: number }) => {
    f(); // warm-up (JIT)
    let top = 0;
    for (let i = 0; i < 3; i++) top = Math.max(top, perMicrosecond(f()));
    return top;
  };
  const timeNode = (fn: () => number) => () => {
    const t0 = ms();
    let iterations = 0;
    for (let r = 0; r < REPS; r++) iterations += fn();
    return { ms: ms() - t0, iterations };
  };
  const nodeWasm = best(timeNode(() => nodeKernel.tile(-2.2, -1.5, 3 / 256, 256, 256, MAX_ITER)));
  const nodeJs = best(timeNode(() => tileJs(out, -2.2, -1.5, 3 / 256, 256, 256, MAX_ITER)));
  rows.push(rate('wasm: Mandelbrot kernel in Node, Wasm vs JS', 'iterations/µs', nodeWasm, nodeJs));

  // ---- Chromium: one page of 1 Web Worker, with WebGPU ----
  const coordinator = await forkCoordinator();
  const dir = await mkdtemp(join(tmpdir(), 'ladle-bench-wasm-'));
  const workers = await launchWorkers({ url: coordinator.url, count: 1, threads: 1, webgpu: true });
  const unregister = onCleanup(async () => {
    await workers.close();
    await coordinator.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const grid = await connect({ url: coordinator.url, token: coordinator.token });
  try {
    await until('the page to join', async () => (await coordinator.stats()).threads === 1);
    const tasks = await grid.module<typeof WasmTasks>(new URL('./wasm-tasks.ts', import.meta.url));
    const inPage = async (fn: typeof tasks.timeWasm) => {
      await grid.submit(fn, 1, MAX_ITER);
      let top = 0;
      for (let i = 0; i < 3; i++) top = Math.max(top, perMicrosecond(await grid.submit(fn, REPS, MAX_ITER)));
      return top;
    };
    const pageWasm = await inPage(tasks.timeWasm);
    const pageJs = await inPage(tasks.timeJs);
    rows.push(rate('wasm: Mandelbrot kernel in a Chromium Web Worker, Wasm vs JS', 'iterations/µs', pageWasm, pageJs));

    // First task of a module carrying 5 MiB of Wasm: uploaded before timing;
    // cold = a fresh page (empty IndexedDB, fetches the bundle); warm = that
    // page reloaded (reads it from IndexedDB). Each page is a fresh volunteer.
    await writeFile(join(dir, 'big.wasm'), bigModule(BIG_BYTES));
    await writeFile(join(dir, 'big-task.ts'), BIG_TASK);
    const cold: number[] = [];
    const warm: number[] = [];
    const page = workers.pages[0];
    for (let i = 0; i < 3; i++) {
      // A client of its own each time, so the bundle is new to the page's Web Workers.
      const client = await connect({ url: coordinator.url, token: coordinator.token });
      try {
        const big = await client.module<{ firstByte(): number }>(join(dir, 'big-task.ts'));
        await page.evaluate(() => indexedDB.deleteDatabase('ladle-bundles'));
        await page.goto(joinUrl(coordinator.url, 1));
        await until('the page to rejoin', async () => (await coordinator.stats()).threads === 1);
        const expected = (1 * 2654435761) >>> 24;
        const bundleCounts = () => page.evaluate(() => (globalThis as unknown as { ladle: { bundles: { fetched: number; fromCache: number } } }).ladle.bundles);
        let t0 = ms();
        if ((await client.submit(big.firstByte)) !== expected) throw new Error('wasm: the 5 MiB module gave a wrong byte');
        cold.push(ms() - t0);
        if ((await bundleCounts()).fetched !== 1) throw new Error('wasm: the cold page did not fetch the bundle');
        await page.reload();
        await until('the page to rejoin', async () => (await coordinator.stats()).threads === 1);
        t0 = ms();
        if ((await client.submit(big.firstByte)) !== expected) throw new Error('wasm: the 5 MiB module gave a wrong byte');
        warm.push(ms() - t0);
        if ((await bundleCounts()).fromCache !== 1) throw new Error('wasm: the reloaded page did not read the bundle from IndexedDB');
      } finally {
        await client.close();
      }
    }
    cold.sort((a, b) => a - b);
    warm.sort((a, b) => a - b);
    rows.push(rate('wasm: first task of a 5 MiB Wasm bundle, cold (fetched) vs warm (IndexedDB)', 'ms', cold[1], warm[1]));
    detail.firstTaskMs = { cold, warm, bundleBytes: BIG_BYTES };

    // WebGPU on SwiftShader: correctness only.
    const gpu = await grid.module<typeof Gpu>(new URL('../tests/fixtures/gpu.ts', import.meta.url));
    const values = Float32Array.from({ length: 1 << 20 }, (_, i) => i - 5000);
    const t0 = ms();
    const doubled = await grid.submit(gpu.double.with({ needs: ['webgpu'] }), values);
    const gpuMs = ms() - t0;
    const correct = doubled.every((v, i) => v === values[i] * 2);
    if (!correct) throw new Error('wasm: the WebGPU compute shader returned wrong values');
    rows.push(rate('wasm: WebGPU doubles 1M floats on SwiftShader (correct; time for the record only)', 'ms', gpuMs, undefined));
    detail.kernel = { tile: '256 x 256, the whole set', maxIter: MAX_ITER, reps: REPS, node: { wasm: nodeWasm, js: nodeJs }, chromium: { wasm: pageWasm, js: pageJs } };
  } finally {
    await grid.close();
    unregister();
    await workers.close();
    await coordinator.stop();
    await rm(dir, { recursive: true, force: true });
  }
  return { rows, detail };
}
