/// <reference path="./wasm-import.ts" preserve="true" />
// `ladle-grid/task`: the API a task module imports, with the SDK's semantics.
// Bundled into each task module as this thin facade; the Web Worker runtime
// installs the implementation under a well-known symbol, so bundles stay
// small and independent of the runtime's version.
import type { Future } from '../futures/future.ts';
import type { MapResult } from '../futures/map-result.ts';
import type { MapAsCompleted } from '../futures/map-as-completed.ts';
import type { MapOptions } from '../futures/futures-api.ts';
import type { Inputs } from '../futures/inputs.ts';
import type { Completed, ReturnWhen } from '../futures/waiting.ts';

/** Any function a task module exports. `never[]` parameters accept every signature. */
type TaskFn = (...args: never[]) => unknown;
type ResultOf<F extends TaskFn> = Awaited<ReturnType<F>>;
type MapArgs<F extends TaskFn> = Inputs<Parameters<F>> | [...Inputs<Parameters<F>>, MapOptions];

/** What the runtime provides inside a Web Worker. */
export interface TaskHost {
  submit(fn: TaskFn, args: unknown[]): Future<unknown>;
  map(fn: TaskFn, args: readonly unknown[]): MapResult<unknown>;
  mapAsCompleted(fn: TaskFn, args: readonly unknown[]): MapAsCompleted<unknown>;
  mapReduce(fn: TaskFn, reduce: TaskFn, args: readonly unknown[]): Promise<unknown>;
  asCompleted(futures: Iterable<Future<unknown>>, options?: { timeout?: number }): AsyncIterable<Completed<Future<unknown>>>;
  wait(
    futures: Iterable<Future<unknown>>,
    options?: { timeout?: number; returnWhen?: ReturnWhen },
  ): Promise<{ done: Set<Future<unknown>>; notDone: Set<Future<unknown>> }>;
  sharedGet(name: string): unknown;
  gpu(): Promise<unknown>;
}

export const TASK_HOST = Symbol.for('ladle.task.host');

function host(): TaskHost {
  const h = (globalThis as { [TASK_HOST]?: TaskHost })[TASK_HOST];
  if (!h) {
    throw new Error(
      "ladle-grid/task is only usable inside a task run by a Ladle page or a local grid; to run task code without a browser (unit tests, debugging), submit it through connect({ url: 'local' })",
    );
  }
  return h;
}

/** Runs `fn(...args)` as a subtask; `fn` must be exported by a task module. */
export function submit<F extends TaskFn>(fn: F, ...args: Parameters<F>): Future<ResultOf<F>> {
  return host().submit(fn, args) as Future<ResultOf<F>>;
}

/** Subtasks over zipped iterables; await for input-order results, or for-await. */
export function map<F extends TaskFn>(fn: F, ...args: MapArgs<F>): MapResult<ResultOf<F>> {
  return host().map(fn, args) as MapResult<ResultOf<F>>;
}

export function mapAsCompleted<F extends TaskFn>(fn: F, ...args: MapArgs<F>): MapAsCompleted<ResultOf<F>> {
  return host().mapAsCompleted(fn, args) as MapAsCompleted<ResultOf<F>>;
}

export function mapReduce<F extends TaskFn>(
  fn: F,
  reduce: (a: ResultOf<F>, b: ResultOf<F>) => unknown,
  ...args: MapArgs<F>
): Promise<ResultOf<F>> {
  return host().mapReduce(fn, reduce, args) as Promise<ResultOf<F>>;
}

/** Yields each future as it completes. They are typed without `then` so
 * for-await hands over the future itself; read it with `f.result()`. */
export function asCompleted<T>(futures: Iterable<Future<T>>, options?: { timeout?: number }): AsyncIterable<Completed<Future<T>>> {
  return host().asCompleted(futures as Iterable<Future<unknown>>, options) as AsyncIterable<Completed<Future<T>>>;
}

export function wait<T>(
  futures: Iterable<Future<T>>,
  options?: { timeout?: number; returnWhen?: ReturnWhen },
): Promise<{ done: Set<Future<T>>; notDone: Set<Future<T>> }> {
  return host().wait(futures as Iterable<Future<unknown>>, options) as Promise<{ done: Set<Future<T>>; notDone: Set<Future<T>> }>;
}

/** Read-only constants set by the submitting client with `grid.shared.set`. */
export const shared = {
  get(name: string): unknown {
    return host().sharedGet(name);
  },
};

/** This Web Worker's GPUDevice: the global `GPUDevice` type when the program
 * has WebGPU's types (`npm install -D @webgpu/types`, then `"types":
 * ["@webgpu/types"]` in tsconfig), else an opaque object. */
export type GpuDevice = typeof globalThis extends { GPUDevice: { prototype: infer D } } ? D : object;

/** Why `gpu()` has no device for this task. */
export type NoGpuReason = 'insecure-context' | 'no-webgpu' | 'no-adapter';

/** `gpu()` rejects with this when the page has no usable GPU. A task that
 * must have one is submitted with `handle.with({ needs: ['webgpu'] })`. */
export class NoGpuError extends Error {
  override name = 'NoGpuError';
  constructor(
    readonly reason: NoGpuReason,
    message: string,
  ) {
    super(message);
  }
  // The runtime's NoGpuError and the copy bundled into a task module are two
  // classes: `instanceof` goes by name so that either matches.
  static override [Symbol.hasInstance](value: unknown): boolean {
    return value instanceof Error && value.name === 'NoGpuError';
  }
}

/** The GPUDevice of this Web Worker, requested once and shared by its tasks.
 * Rejects with NoGpuError (see `reason`) when the page has no WebGPU: not a
 * secure context, no WebGPU in this browser, or no adapter. If the device is
 * lost while a task uses it, the task is stopped and run again (on another
 * Web Worker, which requests a new device). */
export function gpu(): Promise<GpuDevice> {
  return host().gpu() as Promise<GpuDevice>;
}
