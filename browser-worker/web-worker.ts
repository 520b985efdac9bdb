// Entry of each Web Worker of a volunteer page: receives bundles, shared
// constants, tasks and subtask results from the page, and sends back one
// batched report per turn.
import type { FromWebWorker, ToWebWorker } from '../protocol/messages.ts';
import { Executor } from './executor.ts';
import { installTaskHost } from './task-host.ts';
import { nextTurn } from './next-turn.ts';

let reportQueued = false;
let lastBlocked = 0;
const executor = new Executor(nextTurn, (urgent) => {
  if (urgent) return report();
  if (reportQueued) return;
  reportQueued = true;
  nextTurn(report);
});
installTaskHost(executor);
// The page starts this script from a blob: URL (fetched once, so workers can
// restart while the coordinator is away); stacks name it by its real URL.
if (self.location.protocol === 'blob:') executor.nameBlob(self.location.href, `${new URL(self.location.href.slice('blob:'.length)).origin}/worker.js`);

function report(): void {
  reportQueued = false;
  const out = executor.take();
  if (out.started.length + out.done.length + out.submit.length + out.cancel.length === 0 && executor.blocked === lastBlocked) return;
  lastBlocked = executor.blocked;
  const msg: FromWebWorker = { t: 'report', started: out.started, done: out.done, took: out.took, awaited: out.awaited, submit: out.submit, cancel: out.cancel, blocked: executor.blocked };
  (self as unknown as Worker).postMessage(msg, out.transfer);
}

// A task that closed its worker would strand the page's other tasks in it,
// so `close` throws instead, wherever a task looks for it. (A Web Worker
// serves one client: a task can harm only its own client's tasks.)
for (let o: object | null = self; o !== null; o = Object.getPrototypeOf(o)) {
  if (!Object.prototype.hasOwnProperty.call(o, 'close')) continue;
  Object.defineProperty(o, 'close', {
    value: () => {
      throw new Error('a task may not close its Web Worker (self.close()): return a value or throw instead');
    },
    writable: false,
    configurable: false,
  });
}

self.onmessage = (event: MessageEvent<ToWebWorker>) => {
  const msg = event.data;
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
};

// The page counts a worker as started once it hears from it (see WorkerPool.revive).
(self as unknown as Worker).postMessage({ t: 'report', started: [], done: [], took: [], awaited: [], submit: [], cancel: [], blocked: 0 } satisfies FromWebWorker);
