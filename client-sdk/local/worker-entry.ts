// Entry of each worker thread of a local grid: the page's Web Worker
// (browser-worker/web-worker.ts) with Node's plumbing. The same Executor and
// `ladle-grid/task` implementation run the tasks, so their semantics are the page's.
import { parentPort } from 'node:worker_threads';
import type { FromWebWorker, ToWebWorker } from '../../protocol/messages.ts';
import { Executor, type TaskModule } from '../../browser-worker/executor.ts';
import { installTaskHost } from '../../browser-worker/task-host.ts';

const port = parentPort;
if (!port) throw new Error('worker-entry.ts runs in a worker thread started by a local grid');

/** Node cannot import blob: URLs; a data: URL carries the bundle instead.
 * Its sourceURL names the bundle in stack traces and the debugger, which
 * would otherwise show the whole data: URL. */
const importCode = (code: string, hash: string): Promise<TaskModule> => {
  const named = `${code}\n//# sourceURL=ladle-task-${hash.slice(0, 12)}.js\n`;
  return import(`data:text/javascript;base64,${Buffer.from(named).toString('base64')}`) as Promise<TaskModule>;
};

let reportQueued = false;
let lastBlocked = 0;
const executor = new Executor(
  (fn) => setImmediate(fn),
  (urgent) => {
    if (urgent) return report();
    if (reportQueued) return;
    reportQueued = true;
    setImmediate(report);
  },
  importCode,
);
installTaskHost(executor);

// A page's Web Worker logs what task code leaves uncaught and keeps serving;
// so does this thread, rather than dying with every task it holds.
process.on('uncaughtException', (e) => console.error('ladle: uncaught in task code:', e));
process.on('unhandledRejection', (e) => console.error('ladle: unhandled rejection in task code:', e));

function report(): void {
  reportQueued = false;
  const out = executor.take();
  if (out.started.length + out.done.length + out.submit.length + out.cancel.length === 0 && executor.blocked === lastBlocked) return;
  lastBlocked = executor.blocked;
  const msg: FromWebWorker = { t: 'report', started: out.started, done: out.done, took: out.took, awaited: out.awaited, submit: out.submit, cancel: out.cancel, blocked: executor.blocked };
  port!.postMessage(msg, out.transfer as ArrayBuffer[]);
}

// An empty report says the thread is up: the engine knows it can start.
port.postMessage({ t: 'report', started: [], done: [], took: [], awaited: [], submit: [], cancel: [], blocked: 0 } satisfies FromWebWorker);

port.on('message', (msg: ToWebWorker) => {
  switch (msg.t) {
    case 'bundle':
      executor.loadBundle(msg.hash, msg.code);
      break;
    case 'shared':
      executor.setShared(msg.scope, msg.values);
      break;
    case 'run':
      executor.run(msg.tasks);
      break;
    case 'results':
      executor.deliver(msg.results);
      break;
  }
});
