// What a page can do (its capabilities, measured when it joins) and what a
// task may need of it (`handle.with({ needs })`). The scheduler sends a task
// with needs only to a page that has every one.

/** The needs a task may state. */
export const NEEDS = ['webgpu', 'wasm-simd', 'wasm-threads'] as const;
export type Need = (typeof NEEDS)[number];

/** Why a page has no GPU for tasks. */
export type NoGpuCause = 'insecure-context' | 'no-webgpu' | 'no-adapter';

/** What a page measured of its device when it joined (browser-worker/capabilities.ts). */
export interface Capabilities {
  /** Hardware threads (navigator.hardwareConcurrency). */
  cores: number;
  /** Device memory in GiB, as the browser rounds it (Chromium only). */
  memoryGiB?: number;
  /** https, or localhost: WebGPU and crypto.subtle exist only there. */
  secureContext: boolean;
  wasmSimd: boolean;
  /** Wasm threads validate and SharedArrayBuffer exists (a cross-origin isolated page). */
  wasmThreads: boolean;
  /** The WebGPU adapter, when there is one. */
  gpu?: { vendor: string; architecture: string; maxBufferMiB: number; maxStorageBindingMiB: number; maxWorkgroupInvocations: number };
  /** Why there is none. */
  noGpu?: NoGpuCause;
  /** A quick speed score: millions of iterations of a small JavaScript loop per second. */
  speed: number;
}

/** The needs a page with these capabilities meets. */
export function needsMet(caps: Capabilities | undefined): Set<Need> {
  const met = new Set<Need>();
  if (!caps) return met;
  if (caps.gpu) met.add('webgpu');
  if (caps.wasmSimd) met.add('wasm-simd');
  if (caps.wasmThreads) met.add('wasm-threads');
  return met;
}

/** Why a `needs` option is refused; undefined when it is a list of known, distinct needs. */
export function needsError(needs: unknown): string | undefined {
  if (!Array.isArray(needs) || needs.length > NEEDS.length) return `needs is a list of ${NEEDS.map((n) => `'${n}'`).join(', ')}`;
  const seen = new Set<unknown>();
  for (const n of needs) {
    if (!NEEDS.includes(n as Need)) return `needs: unknown need ${JSON.stringify(n)?.slice(0, 64) ?? String(n)}; known needs are ${NEEDS.map((x) => `'${x}'`).join(', ')}`;
    if (seen.has(n)) return `needs: '${String(n)}' is listed twice`;
    seen.add(n);
  }
  return undefined;
}

/** A task's needs as one key, in NEEDS order ('' for none): tasks with the same key queue together. */
export function needsKey(needs: readonly Need[] | undefined): string {
  if (!needs || needs.length === 0) return '';
  return NEEDS.filter((n) => needs.includes(n)).join('+');
}

const MAX_LABEL = 128;
const num = (x: unknown, min: number, max: number) => typeof x === 'number' && Number.isFinite(x) && x >= min && x <= max;
const label = (x: unknown) => typeof x === 'string' && x.length <= MAX_LABEL;

/** Why a page's reported capabilities are malformed, or undefined. */
export function capabilitiesError(x: unknown): string | undefined {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return 'must be an object';
  const c = x as Record<string, unknown>;
  if (!num(c.cores, 0, 4096) || !Number.isInteger(c.cores)) return '.cores must be a whole number';
  if (c.memoryGiB !== undefined && !num(c.memoryGiB, 0, 1 << 20)) return '.memoryGiB must be a number';
  for (const key of ['secureContext', 'wasmSimd', 'wasmThreads'] as const) if (typeof c[key] !== 'boolean') return `.${key} must be a boolean`;
  if (!num(c.speed, 0, 1e9)) return '.speed must be a number';
  if (c.noGpu !== undefined && !['insecure-context', 'no-webgpu', 'no-adapter'].includes(c.noGpu as string)) return '.noGpu is not a known cause';
  if (c.gpu !== undefined) {
    if (typeof c.gpu !== 'object' || c.gpu === null || Array.isArray(c.gpu)) return '.gpu must be an object';
    const g = c.gpu as Record<string, unknown>;
    if (!label(g.vendor) || !label(g.architecture)) return `.gpu.vendor and .gpu.architecture must be strings of at most ${MAX_LABEL} chars`;
    for (const key of ['maxBufferMiB', 'maxStorageBindingMiB', 'maxWorkgroupInvocations'] as const) if (!num(g[key], 0, 1e9)) return `.gpu.${key} must be a number`;
  }
  return undefined;
}
