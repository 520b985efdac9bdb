// What every thread that runs tasks does around its Executor, in a page's Web
// Worker and in a local grid's worker thread alike: one batched report per
// turn to whoever feeds it, and each message from there to the executor.
import type { FromWebWorker, ToWebWorker } from '../protocol/messages.ts';
import { Executor, type ImportCode } from './executor.ts';
import { installTaskHost } from './task-host.ts';
import { gpuAccess } from './gpu.ts';
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
  let turnQueued = false;
  let microQueued = false;
  let lastBlocked = 0;
  const report = (): void => {
    const out = executor.take();
    if (out.started.length + out.done.length + out.submit.length + out.cancel.length === 0 && executor.blocked === lastBlocked) return;
    lastBlocked = executor.blocked;
    post({ t: 'report', started: out.started, done: out.done, took: out.took, awaited: out.awaited, submit: out.submit, cancel: out.cancel, blocked: executor.blocked }, out.transfer);
  };
  const executor = new Executor(
    nextTurn,
    (urgent) => {
      if (urgent) return report();
      // Decided once this turn's code has run: idle then, nothing else can
      // join this report before the promises settled in this turn have run,
      // and waiting for the next turn would only delay it (a round trip's
      // worth, for a lone task, and a message to itself through nextTurn).
      if (microQueued) return;
      microQueued = true;
      queueMicrotask(() => {
        microQueued = false;
        if (executor.idle) return report();
        if (turnQueued) return;
        turnQueued = true;
        nextTurn(() => {
          turnQueued = false;
          report();
        });
      });
    },
    options.importCode,
  );
  // A lost GPU device: the page replaces this thread, and its running tasks run again.
  installTaskHost(executor, gpuAccess((message) => post({ t: 'report', started: [], done: [], took: [], awaited: [], submit: [], cancel: [], blocked: executor.blocked, gpuLost: message }, [])));
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
