// WebAssembly in tasks, in real Chromium through a real coordinator: the
// site's CSP allows compiling Wasm ('wasm-unsafe-eval') and still refuses
// eval and new Function; a task module's `.wasm` import arrives compiled,
// once per Web Worker; local mode runs the same module in Node.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, RemoteError } from '../../client-sdk/index.ts';
import { buildKernels } from '../../demo/kernels/build.ts';
import { startTestGrid, fixture, type TestGrid } from '../helpers/grid.ts';
import { fetchStats } from '../helpers/cli.ts';
import type * as Wasm from '../fixtures/wasm.ts';

/** A 41-byte module exporting add(i32, i32): i32. */
const ADD_WASM = Uint8Array.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x07, 0x01, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f, 0x03, 0x02, 0x01, 0x00, 0x07, 0x07, 0x01,
  0x03, 0x61, 0x64, 0x64, 0x00, 0x00, 0x0a, 0x09, 0x01, 0x07, 0x00, 0x20, 0x00, 0x20, 0x01, 0x6a, 0x0b,
]);

const TILE = { x0: -2, y0: -1.25, step: 2.5 / 64, width: 96, height: 64, maxIter: 200 };

let g: TestGrid;
before(async () => {
  await buildKernels();
  // One page with one Web Worker: every task below runs in the same worker.
  g = await startTestGrid({ pages: 1, threads: 1 });
});
after(async () => {
  await g?.close();
});

test('a task compiles and runs Wasm bytes it was given', async () => {
  const run = g.grid.fn(async (bytes: Uint8Array) => {
    const { instance } = await WebAssembly.instantiate(new Uint8Array(bytes));
    return (instance.exports.add as (a: number, b: number) => number)(2, 40);
  });
  assert.equal(await g.grid.submit(run, ADD_WASM), 42);
});

test('eval and new Function in a task are still refused by the CSP', async () => {
  const evals = g.grid.fn(() => (0, eval)('1 + 1') as number);
  const functions = g.grid.fn(() => new Function('return 1 + 1')() as number);
  for (const probe of [evals, functions]) {
    const err = await g.grid.submit(probe).exception();
    assert.ok(err instanceof RemoteError, `got ${String(err)}`);
    assert.equal(err.remoteName, 'EvalError');
  }
});

test('an imported .wasm is a WebAssembly.Module, compiled once per Web Worker, and computes what the JavaScript twin does', async () => {
  const wasm = await g.grid.module<typeof Wasm>(fixture('wasm.ts'));
  const probes = await g.grid.map(wasm.moduleId, [1, 2, 3, 4, 5, 6]);
  assert.ok(probes.every((p) => p.isModule));
  assert.deepEqual(probes[0].exports, ['memory', 'output', 'tile']);
  assert.equal(new Set(probes.map((p) => p.id)).size, 1, 'every task of the one Web Worker saw the same compiled module');
  const [fromWasm, fromJs] = await Promise.all([g.grid.submit(wasm.tileWasm, TILE), g.grid.submit(wasm.tileJavaScript, TILE)]);
  assert.ok(fromWasm.counts instanceof Uint16Array);
  assert.equal(fromWasm.counts.length, 96 * 64);
  assert.ok(fromWasm.iterations > 96 * 64, 'the tile holds points of the set');
  assert.deepEqual(fromWasm, fromJs);
});

test("a Wasm kernel's own error rejects the task with its message", async () => {
  const wasm = await g.grid.module<typeof Wasm>(fixture('wasm.ts'));
  const err = await g.grid.submit(wasm.tileWasm, { ...TILE, width: 1024, height: 1024 }).exception();
  assert.ok(err instanceof RemoteError);
  assert.equal(err.remoteName, 'RangeError');
  assert.match(err.remoteMessage, /at most 512 x 512 pixels/);
});

test('local mode runs the same .wasm import in Node worker threads', async () => {
  const local = await connect({ url: 'local', threads: 1 });
  try {
    const wasm = await local.module<typeof Wasm>(fixture('wasm.ts'));
    assert.deepEqual(await local.submit(wasm.tileWasm, TILE), await local.submit(wasm.tileJavaScript, TILE));
  } finally {
    await local.close();
  }
});

test('npm run demo:mandelbrot renders the set with the Wasm kernel and writes the image', { timeout: 120_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ladle-mandelbrot-'));
  try {
    const out = join(dir, 'm.pgm');
    const proc = spawn(process.execPath, ['--import', 'tsx', 'demo/mandelbrot.ts', '--width', '192', '--height', '128', '--tile', '64', '--iter', '100', '--out', out], {
      cwd: fileURLToPath(new URL('../../', import.meta.url)),
      env: { ...process.env, LADLE_URL: g.coordinator.url, LADLE_TOKEN: g.coordinator.token },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    proc.stdout.on('data', (d: Buffer) => (text += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (text += d.toString()));
    const code = await new Promise((resolve) => proc.once('exit', resolve));
    assert.equal(code, 0, text);
    assert.match(text, /as 6 tiles with the WebAssembly kernel/);
    assert.match(text, /6 tiles in [\d.]+ s/);
    const image = await readFile(out);
    assert.equal(image.subarray(0, 15).toString(), 'P5\n192 128\n255\n');
    assert.equal(image.length, 15 + 192 * 128);
    // The point -0.5 + 0i (inside the set) is black; the corner far outside is light.
    assert.equal(image[15 + 64 * 192 + Math.round((2 * 192) / 3.5)], 0);
    assert.ok(image[15] > 200);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("a page on localhost is cross-origin isolated: it meets needs: ['wasm-threads'], and such a task shares Wasm memory between threads", async () => {
  const caps = (await fetchStats({ url: g.coordinator.url, adminToken: g.coordinator.adminToken })).perWorker[0].capabilities;
  assert.equal(caps?.wasmThreads, true, `the page reports Wasm threads: ${JSON.stringify(caps)}`);
  const shares = g.grid.fn(async () => {
    // A shared Wasm memory, seen from a nested Worker through one SharedArrayBuffer.
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    const cells = new Int32Array(memory.buffer);
    const source = 'onmessage = (e) => { Atomics.store(new Int32Array(e.data), 0, 42); postMessage(0); };';
    const worker = new Worker(URL.createObjectURL(new Blob([source], { type: 'text/javascript' })));
    await new Promise((resolve) => {
      worker.onmessage = resolve;
      worker.postMessage(memory.buffer);
    });
    worker.terminate();
    return { isolated: crossOriginIsolated, shared: memory.buffer instanceof SharedArrayBuffer, seen: Atomics.load(cells, 0) };
  });
  assert.deepEqual(await g.grid.submit(shares.with({ needs: ['wasm-threads'] })), { isolated: true, shared: true, seen: 42 });
});
