// WebGPU in tasks, in real headless Chromium: `ladle workers --webgpu` pages
// get Chromium's software adapter (SwiftShader) on this http://127.0.0.1
// page; a compute shader gives correct results; a page without WebGPU
// answers gpu() with NoGpuError; a lost device's task runs again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCoordinator, type Coordinator } from '../../coordinator/coordinator.ts';
import { launchWorkers, type LocalWorkers } from '../../cli/workers.ts';
import { connect, RemoteError, TaskLostError, type Grid } from '../../client-sdk/index.ts';
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
});
after(async () => {
  await grid?.close();
  await plain?.close();
  await webgpu?.close();
  await coordinator?.close();
  await rm(dataDir, { recursive: true, force: true });
});

test('gpu() on a page without WebGPU rejects with NoGpuError, saying why', async () => {
  plain = await launchWorkers({ url: coordinator.url, count: 1, threads: 1 });
  const r = await grid.submit(tasks.probe);
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
  await plain.close();
  plain = undefined;
});

test('on a --webgpu page, a compute shader doubles a million floats; the device is one per Web Worker', { timeout: 120_000 }, async () => {
  webgpu = await launchWorkers({ url: coordinator.url, count: 1, threads: 1, webgpu: true });
  const values = Float32Array.from({ length: 1 << 20 }, (_, i) => i * 0.5 - 1000);
  const doubled = await grid.submit(tasks.double, values);
  assert.equal(doubled.length, values.length);
  for (let i = 0; i < values.length; i++) if (doubled[i] !== values[i] * 2) assert.fail(`index ${i}: ${doubled[i]} is not 2 x ${values[i]}`);
  const ids = await grid.map(tasks.deviceId, [1, 2, 3, 4]);
  assert.equal(new Set(ids).size, 1);
});

test('a lost device stops its task, which runs again, and the new Web Worker gets a new device', { timeout: 120_000 }, async () => {
  const before = await grid.submit(tasks.deviceId, 0);
  // Every attempt loses its device: the task is retried until its attempts run out.
  const err = await grid.submit(tasks.loseDevice.with({ attempts: 2 })).exception();
  assert.ok(err instanceof TaskLostError, `got ${String(err)}`);
  assert.match(err.message, /lost 2 times/);
  const after = await grid.submit(tasks.deviceId, 0);
  assert.notEqual(after, before, 'a fresh Web Worker requested a new device');
  assert.deepEqual(await grid.submit(tasks.double, new Float32Array([1.5, -2])), new Float32Array([3, -4]));
});
