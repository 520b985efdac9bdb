// What every thread that runs tasks does around its Executor, in a page's Web
// Worker and in a local grid's worker thread alike: one batched report per
// turn to whoever feeds it, and each message from there to the executor.
import type { FromWebWorker, ToWebWorker } from '../protocol/messages.ts';
import { Executor, type ImportCode } from './executor.ts';
import { installTaskHost } from './task-host.ts';
import { installTaskTimers } from './task-timers.ts';

export interface ExecutorHost {
  executor: Executor;
  /** Hands a message from the page (or the local engine) to the executor. */
  receive(msg: ToWebWorker): void;
}

export function hostExecutor(options: {
  /** Runs `fn` on the next turn of the event loop (after all microtasks). */
  nextTurn: (fn: () => void) => void;
  post: (msg: FromWebWorker, transfer: Transferable[]) => void;
  importCode?: ImportCode;
}): ExecutorHost {
  const { nextTurn, post } = options;
  let reportQueued = false;
  let lastBlocked = 0;
  const report = (): void => {
    reportQueued = false;
    const out = executor.take();
    if (out.started.length + out.done.length + out.submit.length + out.cancel.length === 0 && executor.blocked === lastBlocked) return;
    lastBlocked = executor.blocked;
    post({ t: 'report', started: out.started, done: out.done, took: out.took, awaited: out.awaited, submit: out.submit, cancel: out.cancel, blocked: executor.blocked }, out.transfer);
  };
  const executor = new Executor(
    nextTurn,
    (urgent) => {
      if (urgent) return report();
      if (reportQueued) return;
      reportQueued = true;
      nextTurn(report);
    },
    options.importCode,
  );
  installTaskHost(executor);
  installTaskTimers(executor);
  // An empty report says the thread is up: whoever started it counts it as started from here.
  post({ t: 'report', started: [], done: [], took: [], awaited: [], submit: [], cancel: [], blocked: 0 }, []);
  return {
    executor,
    receive(msg) {
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
    },
  };
}
