// Placement by need: the NeedQueue alone, and the Scheduler sending tasks
// with needs only to pages that meet them (fill, steal, backup, requeue);
// capabilities and needs on the wire.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NeedQueue } from '../../coordinator/need-queue.ts';
import { Scheduler } from '../../coordinator/scheduler.ts';
import { needsError, needsKey, needsMet, type Need } from '../../protocol/needs.ts';
import { taskOptionsError } from '../../protocol/limits.ts';
import { PROTOCOL_VERSION, ProtocolError, decodeFrame, encodeFrame, parseHello, parseToClient, parseToPage, type Hello } from '../../protocol/messages.ts';
import { describeCapabilities } from '../../browser-worker/capabilities.ts';

const GPU: ReadonlySet<Need> = new Set(['webgpu']);
const SIMD: ReadonlySet<Need> = new Set(['wasm-simd']);
const BOTH: ReadonlySet<Need> = new Set(['webgpu', 'wasm-simd']);

test('needs are validated: unknown, repeated or not a list is a clear error', () => {
  assert.equal(needsError(['webgpu', 'wasm-simd']), undefined);
  assert.match(needsError(['cuda'])!, /unknown need "cuda"; known needs are 'webgpu', 'wasm-simd', 'wasm-threads'/);
  assert.match(needsError(['webgpu', 'webgpu'])!, /listed twice/);
  assert.match(needsError('webgpu')!, /needs is a list of/);
  assert.match(taskOptionsError({ needs: ['gpu'] })!, /unknown need "gpu"/);
  assert.equal(needsKey(['wasm-simd', 'webgpu']), 'webgpu+wasm-simd');
  assert.deepEqual([...needsMet({ cores: 4, secureContext: true, wasmSimd: true, wasmThreads: false, speed: 1, gpu: { vendor: 'v', architecture: 'a', maxBufferMiB: 1, maxStorageBindingMiB: 1, maxWorkgroupInvocations: 1 } })], ['webgpu', 'wasm-simd']);
  assert.equal(needsMet(undefined).size, 0);
});

test('a NeedQueue gives a page only tasks it meets every need of, oldest first; requeued ones go first', () => {
  const q = new NeedQueue<number>();
  q.add(1, ['webgpu']);
  q.add(2, ['webgpu', 'wasm-simd']);
  q.add(3, ['wasm-simd']);
  q.add(4, ['webgpu']);
  assert.equal(q.size, 4);
  assert.equal(q.take(new Set()), undefined);
  assert.equal(q.take(SIMD), 3);
  assert.equal(q.take(SIMD), undefined);
  assert.equal(q.take(GPU), 1);
  q.add(1, ['webgpu'], true);
  assert.equal(q.take(GPU), 1, 'a requeued task goes to the front of its group');
  assert.equal(q.delete(4), true);
  assert.equal(q.delete(4), false);
  assert.equal(q.take(GPU), undefined, 'a deleted task is skipped');
  assert.deepEqual(q.waiting([GPU, SIMD]), { 'webgpu+wasm-simd': 1 }, 'no single page has both');
  assert.deepEqual(q.waiting([BOTH]), {});
  assert.equal(q.take(BOTH), 2);
  assert.equal(q.size, 0);
  assert.throws(() => q.add(5, []), /main queue/);
});

/** A scheduler whose tasks above 100 need a GPU. */
function gpuScheduler(now = () => 0) {
  return new Scheduler<string, number>({ prefetch: () => 0, now, needsOf: (t) => (t > 100 ? ['webgpu'] : undefined) });
}

test('tasks that need a GPU go only to the GPU page; plain tasks use both', () => {
  const s = gpuScheduler();
  s.addPage('gpu', 2);
  s.addPage('cpu', 2);
  s.setNeedsMet('gpu', GPU);
  for (const t of [101, 102, 103, 1, 2, 3]) s.enqueue(t);
  const { send } = s.dispatch();
  assert.deepEqual(send.get('gpu'), [101, 102]);
  assert.deepEqual(send.get('cpu'), [1, 2]);
  assert.equal(s.queuedCount, 2);
  s.finish(1, 'cpu');
  assert.deepEqual(s.dispatch().send.get('cpu'), [3], 'the CPU page never takes 103');
  s.finish(101, 'gpu');
  assert.deepEqual(s.dispatch().send.get('gpu'), [103]);
});

test('tasks no page can run wait, are counted by need, and run when such a page joins', () => {
  const s = gpuScheduler();
  s.addPage('cpu', 4);
  for (const t of [101, 102, 103]) s.enqueue(t);
  assert.equal(s.dispatch().send.size, 0);
  assert.deepEqual(s.waitingForNeeds(), { webgpu: 3 });
  assert.equal(s.queuedCount, 3);
  s.cancel(103);
  assert.deepEqual(s.waitingForNeeds(), { webgpu: 2 });
  s.addPage('gpu', 4);
  s.setNeedsMet('gpu', GPU);
  assert.deepEqual(s.waitingForNeeds(), {}, 'a page that can run them joined');
  assert.deepEqual(s.dispatch().send.get('gpu'), [101, 102]);
  // Its page lost, a task waits again, ahead of later ones.
  s.enqueue(104);
  assert.deepEqual(s.removePage('gpu').sort(), [101, 102]);
  for (const t of [101, 102]) s.requeue(t);
  assert.deepEqual(s.waitingForNeeds(), { webgpu: 3 });
  s.addPage('gpu2', 1);
  s.setNeedsMet('gpu2', GPU);
  assert.deepEqual(s.dispatch().send.get('gpu2'), [101]);
});

test('an idle page without the need neither steals nor backs up a GPU task', () => {
  let t = 0;
  const s2 = new Scheduler<string, number>({ prefetch: () => 4, now: () => t, needsOf: (x) => (x > 100 ? ['webgpu'] : undefined) });
  s2.addPage('gpu', 1);
  s2.setNeedsMet('gpu', GPU);
  for (const x of [101, 102, 103, 104]) s2.enqueue(x);
  assert.deepEqual(s2.dispatch().send.get('gpu'), [101, 102, 103, 104]);
  s2.started(101, 'gpu');
  s2.addPage('cpu', 2);
  t = 60_000;
  const d = s2.dispatch();
  assert.equal(d.send.get('cpu'), undefined, 'no steal, no backup copy on the CPU page');
  assert.equal(d.revoke.size, 0);
  s2.addPage('gpu2', 2);
  s2.setNeedsMet('gpu2', GPU);
  const d2 = s2.dispatch();
  assert.ok((d2.send.get('gpu2') ?? []).length > 0, 'a second GPU page steals or backs up');
  assert.equal(d2.send.get('cpu'), undefined);
});

test('a page reports its capabilities in its hello; malformed ones are protocol errors', () => {
  const caps = { cores: 8, memoryGiB: 8, secureContext: false, wasmSimd: true, wasmThreads: false, speed: 250.5, noGpu: 'insecure-context' };
  const hello = { t: 'hello', role: 'worker', threads: 2, userAgent: 'UA', version: PROTOCOL_VERSION };
  assert.deepEqual(decodeFrame(encodeFrame({ ...hello, capabilities: caps } as Hello), parseHello), { ...hello, capabilities: caps });
  for (const [bad, reason] of [
    [{ ...caps, cores: -1 }, /cores/],
    [{ ...caps, wasmSimd: 'yes' }, /wasmSimd/],
    [{ ...caps, noGpu: 'broken' }, /noGpu/],
    [{ ...caps, gpu: { vendor: 'x'.repeat(500), architecture: 'a', maxBufferMiB: 1, maxStorageBindingMiB: 1, maxWorkgroupInvocations: 1 } }, /vendor/],
    [{ ...caps, gpu: { vendor: 'v', architecture: 'a', maxBufferMiB: Infinity, maxStorageBindingMiB: 1, maxWorkgroupInvocations: 1 } }, /maxBufferMiB/],
    ['fast', /capabilities must be an object/],
  ] as const) {
    assert.throws(() => parseHello({ ...hello, capabilities: bad }), (e: unknown) => e instanceof ProtocolError && reason.test(e.message));
  }
  // A lend names what the thief has; only known needs.
  assert.throws(() => parseToPage({ t: 'lend', to: 'p', max: 1, has: ['cuda'] }), /lend.has: needs: unknown need/);
  assert.deepEqual(parseToPage({ t: 'lend', to: 'p', max: 1, has: ['webgpu'] }), { t: 'lend', to: 'p', max: 1, has: ['webgpu'] });
  // The coordinator's word to a client about tasks no page can run.
  assert.deepEqual(parseToClient({ t: 'waiting', seq: 3, needs: { webgpu: 40 } }), { t: 'waiting', seq: 3, needs: { webgpu: 40 } });
  assert.throws(() => parseToClient({ t: 'waiting', seq: 3, needs: { webgpu: -1 } }), ProtocolError);
});

test('the join page says plainly why a device has no GPU', () => {
  const base = { cores: 8, secureContext: true, wasmSimd: true, wasmThreads: false, speed: 100 };
  assert.equal(describeCapabilities({ ...base, noGpu: 'insecure-context', secureContext: false }), '8 threads, GPU: unavailable, because this page is not a secure context (open it over https, or as localhost), Wasm SIMD');
  assert.equal(
    describeCapabilities({ ...base, cores: 1, memoryGiB: 4, wasmSimd: false, gpu: { vendor: 'google', architecture: 'swiftshader', maxBufferMiB: 256, maxStorageBindingMiB: 128, maxWorkgroupInvocations: 256 } }),
    '1 thread, 4 GiB, GPU: google swiftshader',
  );
  assert.equal(describeCapabilities({ ...base, noGpu: 'no-adapter' }), '8 threads, GPU: none found, Wasm SIMD');
});
