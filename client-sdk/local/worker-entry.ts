// Entry of each worker thread of a local grid: the page's Web Worker
// (browser-worker/web-worker.ts) with Node's plumbing. The same Executor and
// `ladle-grid/task` implementation run the tasks, so their semantics are the page's.
import { parentPort } from 'node:worker_threads';
import type { ToWebWorker } from '../../protocol/messages.ts';
import type { TaskModule } from '../../browser-worker/executor.ts';
import { hostExecutor } from '../../browser-worker/executor-host.ts';

const port = parentPort;
if (!port) throw new Error('worker-entry.ts runs in a worker thread started by a local grid');

/** Node cannot import blob: URLs; a data: URL carries the bundle instead.
 * Its sourceURL names the bundle in stack traces and the debugger, which
 * would otherwise show the whole data: URL. */
const importCode = (code: string, hash: string): Promise<TaskModule> => {
  const named = `${code}\n//# sourceURL=ladle-task-${hash.slice(0, 12)}.js\n`;
  return import(`data:text/javascript;base64,${Buffer.from(named).toString('base64')}`) as Promise<TaskModule>;
};

// A page's Web Worker logs what task code leaves uncaught and keeps serving;
// so does this thread, rather than dying with every task it holds.
process.on('uncaughtException', (e) => console.error('ladle: uncaught in task code:', e));
process.on('unhandledRejection', (e) => console.error('ladle: unhandled rejection in task code:', e));

const { receive } = hostExecutor({
  nextTurn: (fn) => setImmediate(fn),
  post: (msg, transfer) => port.postMessage(msg, transfer as ArrayBuffer[]),
  importCode,
});
port.on('message', (msg: ToWebWorker) => receive(msg));
