// WebGPU in tasks and placement by need, in real headless Chromium: a plain
// page answers gpu() with NoGpuError; `needs: ['webgpu']` tasks wait (counted
// in /api/stats, the SDK warns once) until a `ladle workers --webgpu` page
// joins (Chromium's software adapter, SwiftShader, on this http://127.0.0.1
// page); then they run only there, subtasks included, while plain tasks use
// both pages; a compute shader gives correct results; a lost device's task
// runs again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCoordinator, type Coordinator } from '../../coordinator/coordinator.ts';
import { launchWorkers, type LocalWorkers } from '../../cli/workers.ts';
import { connect, LadleError, RemoteError, TaskLostError, type Grid } from '../../client-sdk/index.ts';
import type { Stats } from '../../coordinator/stats.ts';
import { fixture } from '../helpers/grid.ts';
import type * as Gpu from '../fixtures/gpu.ts';

let dataDir: string;
let coordinator: Coordinator;
let plain: LocalWorkers | undefined;
let webgpu: LocalWorkers | undefined;
let grid: Grid;
let tasks: Awaited<ReturnType<typeof load>>;
const load = () => grid.module<typeof Gpu>(fixture('gpu.ts'));

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'ladle-test-'));
  coordinator = await startCoordinator({ host: '127.0.0.1', port: 0, dataDir });
  grid = await connect({ url: coordinator.url, token: coordinator.token });
  tasks = await load();
  plain = await launchWorkers({ url: coordinator.url, count: 1, threads: 2 });
});
after(async () => {
  await grid?.close();
  await plain?.close();
  await webgpu?.close();
  await coordinator?.close();
  await rm(dataDir, { recursive: true, force: true });
});

async function stats(): Promise<Stats> {
  const res = await fetch(`${coordinator.url}/api/stats`, { headers: { authorization: `Bearer ${coordinator.adminToken}` } });
  return (await res.json()) as Stats;
}

/** Polls `check` every 50 ms until it holds, for at most `ms`. */
async function until(check: () => Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('gpu() on a page without WebGPU rejects with NoGpuError, saying why; the page reports its capabilities', async () => {
  const r = await grid.submit(tasks.probe, 0);
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.equal(r.name, 'NoGpuError');
  assert.equal(r.isNoGpu, true, 'instanceof NoGpuError holds in the task');
  assert.ok(['no-webgpu', 'no-adapter'].includes(r.reason), r.reason);
  assert.match(r.message, /WebGPU/);
  // Thrown on, it reaches the SDK as a RemoteError named NoGpuError.
  const err = await grid.submit(tasks.double, new Float32Array([1])).exception();
  assert.ok(err instanceof RemoteError);
  assert.equal(err.remoteName, 'NoGpuError');
  const [w] = (await stats()).perWorker;
  assert.equal(w.capabilities?.gpu, undefined);
  assert.ok(w.capabilities!.cores >= 1);
  assert.equal(w.capabilities!.secureContext, true, 'http://127.0.0.1 is a secure context');
  assert.equal(w.capabilities!.wasmSimd, true);
  assert.ok(w.capabilities!.speed > 0);
  // The join page says it in a line.
  const line = await plain!.pages[0].locator('#device').textContent();
  assert.match(line ?? '', /^This device: \d+ threads?, .*GPU: none/);
});

test('an unknown need is a clear error', () => {
  assert.throws(() => tasks.double.with({ needs: ['cuda' as 'webgpu'] }), (e: unknown) => e instanceof LadleError && e.code === 'ERR_INVALID_OPTION' && /unknown need "cuda"/.test(e.message));
});

test("needs: ['webgpu'] tasks wait while no page has a GPU (counted, warned once), then run when a --webgpu page joins", { timeout: 180_000 }, async () => {
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => void warnings.push(args.join(' '));
  try {
    const inputs = [1, 2, 3, 4, 5].map((x) => new Float32Array([x, -x]));
    const doubled = grid.map(tasks.double.with({ needs: ['webgpu'] }), inputs);
    await until(async () => (await stats()).waitingForNeeds.webgpu === 5, 'stats count 5 tasks waiting for webgpu');
    await until(async () => warnings.length > 0, 'the SDK warns');
    assert.deepEqual(warnings, ['ladle: 5 tasks need webgpu; no joined page has it (they wait until one joins)']);
    webgpu = await launchWorkers({ url: coordinator.url, count: 1, threads: 1, webgpu: true });
    assert.deepEqual(await doubled, inputs.map((a) => a.map((v) => v * 2)));
    assert.deepEqual((await stats()).waitingForNeeds, {});
    assert.equal(warnings.length, 1, 'warned once');
  } finally {
    console.warn = warn;
  }
  const gpuPage = (await stats()).perWorker.find((w) => w.capabilities?.gpu);
  assert.deepEqual([gpuPage?.capabilities?.gpu?.vendor, gpuPage?.capabilities?.gpu?.architecture], ['google', 'swiftshader']);
  assert.match((await webgpu.pages[0].locator('#device').textContent()) ?? '', /GPU: google swiftshader/);
});

test('with two pages, every needs-webgpu task runs on the GPU page, its subtasks too; plain tasks use both pages', { timeout: 120_000 }, async () => {
  const onGpu = await grid.map(tasks.probe.with({ needs: ['webgpu'] }), Array.from({ length: 30 }, (_, i) => i));
  assert.ok(onGpu.every((r) => r.ok), 'no task with needs reached the page without WebGPU');
  // Subtasks inherit their parent's needs: the idle plain page may not take them.
  assert.deepEqual(await grid.map(tasks.probeSubtasks.with({ needs: ['webgpu'] }), [20, 20]), [20, 20]);
  const before = new Map((await stats()).perWorker.map((w) => [w.id, w.tasksDone]));
  const anywhere = await grid.map(tasks.probe, Array.from({ length: 40 }, (_, i) => i));
  assert.deepEqual(anywhere.length, 40);
  const after = (await stats()).perWorker;
  assert.ok(after.every((w) => w.tasksDone > (before.get(w.id) ?? 0)), 'both pages ran plain tasks');
});

test('on the --webgpu page, a compute shader doubles a million floats; the device is one per Web Worker', { timeout: 120_000 }, async () => {
  const values = Float32Array.from({ length: 1 << 20 }, (_, i) => i * 0.5 - 1000);
  const doubled = await grid.submit(tasks.double.with({ needs: ['webgpu'] }), values);
  assert.equal(doubled.length, values.length);
  for (let i = 0; i < values.length; i++) if (doubled[i] !== values[i] * 2) assert.fail(`index ${i}: ${doubled[i]} is not 2 x ${values[i]}`);
  const ids = await grid.map(tasks.deviceId.with({ needs: ['webgpu'] }), [1, 2, 3, 4]);
  assert.equal(new Set(ids).size, 1);
});

test('a lost device stops its task, which runs again, and the new Web Worker gets a new device', { timeout: 120_000 }, async () => {
  const gpuOnly = { needs: ['webgpu' as const] };
  const before = await grid.submit(tasks.deviceId.with(gpuOnly), 0);
  // Every attempt loses its device: the task is retried until its attempts run out.
  const err = await grid.submit(tasks.loseDevice.with({ ...gpuOnly, attempts: 2 })).exception();
  assert.ok(err instanceof TaskLostError, `got ${String(err)}`);
  assert.match(err.message, /lost 2 times/);
  const after = await grid.submit(tasks.deviceId.with(gpuOnly), 0);
  assert.notEqual(after, before, 'a fresh Web Worker requested a new device');
  assert.deepEqual(await grid.submit(tasks.double.with(gpuOnly), new Float32Array([1.5, -2])), new Float32Array([3, -4]));
});
