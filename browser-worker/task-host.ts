// Installs the implementation behind `ladle-grid/task` in a Web Worker: the same
// map-like calls as the SDK, submitting subtasks through this worker's executor.
import { FuturesApi } from '../futures/futures-api.ts';
import { asCompleted, wait } from '../futures/waiting.ts';
import { knownLength, progressTracker } from '../futures/progress.ts';
import type { Future } from '../futures/future.ts';
import type { Executor } from './executor.ts';
import { TASK_HOST, type TaskHost } from './task-api.ts';

/** `gpu` gives this thread's device (see gpu.ts). */
export function installTaskHost(executor: Executor, gpu: () => Promise<unknown>): void {
  const submit = (fn: unknown, args: unknown[]): Future<unknown> => executor.submit(fn, args);
  // A worker has no stderr: `progress` prints nothing here, `onProgress` works.
  const api = new FuturesApi(
    (fn, args, chunk) => executor.submit(fn, args, { chunk }),
    (options, iterables) => progressTracker(options, knownLength(iterables)),
  );
  const host: TaskHost = {
    submit,
    map: (fn, args) => api.map(fn, args),
    mapAsCompleted: (fn, args) => api.mapAsCompleted(fn, args),
    mapReduce: (fn, reduce, args) => api.mapReduce(fn, reduce, args),
    asCompleted,
    wait,
    sharedGet: (name) => executor.sharedGet(name),
    gpu,
  };
  (globalThis as { [TASK_HOST]?: TaskHost })[TASK_HOST] = host;
}
