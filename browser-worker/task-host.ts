// Installs the implementation behind `ladle/task` in a Web Worker: the same
// map-like calls as the SDK, submitting subtasks through this worker's executor.
import { FuturesApi } from '../client-sdk/futures-api.ts';
import { asCompleted, wait } from '../client-sdk/waiting.ts';
import type { Future } from '../client-sdk/future.ts';
import type { Executor } from './executor.ts';
import { TASK_HOST, type TaskHost } from './task-api.ts';

export function installTaskHost(executor: Executor): void {
  const submit = (fn: unknown, args: unknown[]): Future<unknown> => executor.submit(fn, args);
  const api = new FuturesApi(submit, (options) => {
    // No terminal in a worker: only the callback form of progress applies.
    if (options.progress) throw new TypeError('progress bars are drawn by the SDK; inside a task use onProgress');
    return undefined;
  });
  const host: TaskHost = {
    submit,
    map: (fn, args) => api.map(fn, args),
    mapAsCompleted: (fn, args) => api.mapAsCompleted(fn, args),
    mapReduce: (fn, reduce, args) => api.mapReduce(fn, reduce, args),
    asCompleted,
    wait,
    sharedGet: (name) => executor.sharedGet(name),
  };
  (globalThis as { [TASK_HOST]?: TaskHost })[TASK_HOST] = host;
}
