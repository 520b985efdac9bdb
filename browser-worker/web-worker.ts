// Entry of each Web Worker of a volunteer page: receives bundles, shared
// constants, tasks and subtask results from the page, and sends back one
// batched report per turn.
import type { FromWebWorker, ToWebWorker } from '../protocol/messages.ts';
import { hostExecutor } from './executor-host.ts';
import { nextTurn } from './next-turn.ts';
import { TaskLane } from './task-lane.ts';

// A task that closed its worker would strand the page's other tasks in it,
// so `close` throws instead, wherever a task looks for it. (A Web Worker
// serves one client: a task can harm only its own client's tasks.)
for (let o: object | null = self; o !== null; o = Object.getPrototypeOf(o) as object | null) {
  if (!Object.prototype.hasOwnProperty.call(o, 'close')) continue;
  Object.defineProperty(o, 'close', {
    value: () => {
      throw new Error('a task may not close its Web Worker (self.close()): return a value or throw instead');
    },
    writable: false,
    configurable: false,
  });
}

// Only now may the page hear that this worker is up (the first report).
// A lane's outcomes leave over it before the page hears of them (task-lane.ts).
const toPage = (msg: FromWebWorker, transfer: Transferable[]) => (self as unknown as Worker).postMessage(msg, transfer);
const lane = new TaskLane(
  (tasks) => executor.run(tasks),
  toPage,
  () => executor.blocked,
);
const { executor, receive } = hostExecutor({
  nextTurn,
  post: (msg, transfer) => {
    lane.report(msg, transfer);
    toPage(msg, transfer);
  },
});
self.onmessage = (event: MessageEvent<ToWebWorker>) => {
  lane.fromPage(event.data);
  receive(event.data);
};

// The page starts this script from a blob: URL (fetched once, so workers can
// restart while the coordinator is away); stacks name it by its real URL.
if (self.location.protocol === 'blob:') executor.nameBlob(self.location.href, `${new URL(self.location.href.slice('blob:'.length)).origin}/worker.js`);

