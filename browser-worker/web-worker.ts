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

function report(): void {
  reportQueued = false;
  const out = executor.take();
  if (out.started.length + out.done.length + out.submit.length + out.cancel.length === 0 && executor.blocked === lastBlocked) return;
  lastBlocked = executor.blocked;
  const msg: FromWebWorker = { t: 'report', started: out.started, done: out.done, took: out.took, awaited: out.awaited, submit: out.submit, cancel: out.cancel, blocked: executor.blocked };
  (self as unknown as Worker).postMessage(msg, out.transfer);
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
    case 'unshare':
      executor.unshare(msg.scope);
      break;
    case 'run':
      executor.run(msg.tasks);
      break;
    case 'results':
      executor.deliver(msg.results);
      break;
  }
};
