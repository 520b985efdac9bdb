// What this device can do, measured once when the page starts and sent with
// its hello: the scheduler places tasks with needs by it, the dashboard and
// the join page show it.
import type { Capabilities, NoGpuCause } from '../protocol/needs.ts';

// Minimal modules that validate only with the feature (as wasm-feature-detect does).
const SIMD = Uint8Array.from([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);
const THREADS = Uint8Array.from([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 5, 4, 1, 3, 1, 1, 10, 11, 1, 9, 0, 65, 0, 254, 16, 2, 0, 26, 11]);

/** How long the GPU adapter may take to answer before the page joins without one. */
const ADAPTER_WAIT_MS = 3000;

interface AdapterLike {
  info?: { vendor?: string; architecture?: string };
  limits: Record<string, number>;
}

const MiB = 1024 * 1024;

async function gpuOf(): Promise<Pick<Capabilities, 'gpu' | 'noGpu'>> {
  const g = (navigator as { gpu?: { requestAdapter(): Promise<AdapterLike | null> } }).gpu;
  if (!g) return { noGpu: isSecureContext ? 'no-webgpu' : 'insecure-context' };
  const adapter = await Promise.race([
    g.requestAdapter().catch(() => null),
    new Promise<null>((resolve) => setTimeout(() => resolve(null), ADAPTER_WAIT_MS)),
  ]);
  if (!adapter) return { noGpu: 'no-adapter' satisfies NoGpuCause };
  const limit = (name: string) => (typeof adapter.limits[name] === 'number' ? adapter.limits[name] : 0);
  return {
    gpu: {
      vendor: (adapter.info?.vendor ?? '').slice(0, 128),
      architecture: (adapter.info?.architecture ?? '').slice(0, 128),
      maxBufferMiB: Math.floor(limit('maxBufferSize') / MiB),
      maxStorageBindingMiB: Math.floor(limit('maxStorageBufferBindingSize') / MiB),
      maxWorkgroupInvocations: limit('maxComputeInvocationsPerWorkgroup'),
    },
  };
}

/** Millions of iterations per second of a small integer loop, over about 20 ms. */
function speedScore(): number {
  let x = 1;
  let n = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < 20) {
    for (let i = 0; i < 100_000; i++) x = (Math.imul(x, 1103515245) + 12345) | 0;
    n += 100_000;
    elapsed = performance.now() - start;
  }
  // x is used so the loop cannot be dropped.
  return Math.round((n / elapsed / 1000) * 10 + (x & 0)) / 10;
}

export async function measureCapabilities(): Promise<Capabilities> {
  const memory = (navigator as { deviceMemory?: number }).deviceMemory;
  const caps: Capabilities = {
    cores: navigator.hardwareConcurrency || 1,
    secureContext: isSecureContext,
    wasmSimd: WebAssembly.validate(SIMD),
    wasmThreads: WebAssembly.validate(THREADS) && typeof SharedArrayBuffer === 'function',
    speed: speedScore(),
    ...(await gpuOf()),
  };
  if (typeof memory === 'number') caps.memoryGiB = memory;
  return caps;
}

/** One line for the join page: "8 threads, 8 GiB, GPU: google swiftshader". */
export function describeCapabilities(c: Capabilities): string {
  const parts = [`${c.cores} thread${c.cores === 1 ? '' : 's'}`];
  if (c.memoryGiB !== undefined) parts.push(`${c.memoryGiB} GiB`);
  if (c.gpu) parts.push(`GPU: ${[c.gpu.vendor, c.gpu.architecture].filter(Boolean).join(' ') || 'yes'}`);
  else if (c.noGpu === 'insecure-context') parts.push('GPU: unavailable, because this page is not a secure context (open it over https, or as localhost)');
  else if (c.noGpu === 'no-webgpu') parts.push('GPU: none (this browser has no WebGPU)');
  else parts.push('GPU: none found');
  if (c.wasmSimd) parts.push('Wasm SIMD');
  return parts.join(', ');
}
