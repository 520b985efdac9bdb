// `gpu()` inside a Web Worker: one GPUDevice per worker, requested on first
// use and shared by its tasks, or a NoGpuError that says why there is none.
// When the device is lost, the worker reports it: the page replaces the
// worker (stopping the tasks that were using the device) and the coordinator
// runs those tasks again; the fresh worker requests a new device.
import { NoGpuError, type NoGpuReason } from './task-api.ts';

// The few WebGPU shapes used here; TypeScript's DOM library has no WebGPU types.
interface GpuDeviceLike {
  lost: Promise<{ reason?: string; message: string }>;
}
interface GpuAdapterLike {
  requestDevice(descriptor?: { requiredLimits?: Record<string, number> }): Promise<GpuDeviceLike>;
  limits: Record<string, number>;
}
interface GpuLike {
  requestAdapter(options?: { powerPreference?: string }): Promise<GpuAdapterLike | null>;
}

function refuse(reason: NoGpuReason, message: string): NoGpuError {
  return new NoGpuError(reason, message);
}

/** `onLost` hears of a device lost after it was handed out. */
export function gpuAccess(onLost: (message: string) => void): () => Promise<unknown> {
  let device: Promise<GpuDeviceLike> | undefined;
  const request = async (): Promise<GpuDeviceLike> => {
    const g = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator?.gpu;
    if (!g) {
      if (globalThis.isSecureContext === false) {
        throw refuse('insecure-context', 'WebGPU needs a secure context: this page is served over plain http from another machine (serve the grid over https, or open it as localhost)');
      }
      throw refuse('no-webgpu', 'no WebGPU here (navigator.gpu is missing: headless Chromium needs --enable-unsafe-webgpu, which `ladle workers --webgpu` sets; Node has none)');
    }
    const adapter = await g.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) throw refuse('no-adapter', 'WebGPU found no GPU adapter on this device (no usable GPU, or blocked by the browser)');
    // The adapter's own limits, not the defaults: large buffers need them.
    const requiredLimits: Record<string, number> = {};
    for (const name of ['maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup']) {
      if (typeof adapter.limits[name] === 'number') requiredLimits[name] = adapter.limits[name];
    }
    const d = await adapter.requestDevice({ requiredLimits });
    void d.lost.then((info) => {
      device = undefined;
      onLost(`the GPU device was lost (${info.reason ?? 'unknown'}): ${info.message}`);
    });
    return d;
  };
  return () => {
    if (!device) {
      const asked = request();
      device = asked;
      // A refusal is not kept: the next call asks again (an adapter may appear).
      asked.catch(() => {
        if (device === asked) device = undefined;
      });
    }
    return device;
  };
}
