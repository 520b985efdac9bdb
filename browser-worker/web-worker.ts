// One Web Worker of a volunteer page: imports task bundles it is given and
// runs the tasks the page hands it, replying with packed results or with the
// error (name, message, stack) a task threw.
import { pack, unpack } from '../protocol/codec.ts';
import type { FromWebWorker, RemoteErrorInfo, TaskSpec, ToWebWorker } from '../protocol/messages.ts';

type TaskModule = Record<string, unknown>;
const modules = new Map<string, Promise<TaskModule>>();

function post(msg: FromWebWorker, transfer: Transferable[] = []): void {
  (self as unknown as Worker).postMessage(msg, transfer);
}

function errorInfo(e: unknown): RemoteErrorInfo {
  if (e instanceof Error) return { name: e.name, message: e.message, stack: e.stack };
  return { name: 'Error', message: `a non-Error value was thrown: ${String(e)}` };
}

async function run(task: TaskSpec): Promise<void> {
  post({ t: 'started', id: task.id });
  try {
    const mod = await modules.get(task.bundle);
    if (!mod) throw new Error(`bundle ${task.bundle} was not loaded in this worker`);
    const fn = mod[task.fn];
    if (typeof fn !== 'function') throw new TypeError(`the task module has no exported function named "${task.fn}"`);
    const args = unpack(task.args) as unknown[];
    const value: unknown = await fn(...args);
    // pack() returns a view into a shared buffer: copy the bytes so only they are transferred.
    const bytes = pack(value).slice();
    post({ t: 'done', outcome: { id: task.id, ok: true, value: bytes } }, [bytes.buffer]);
  } catch (e) {
    post({ t: 'done', outcome: { id: task.id, ok: false, error: errorInfo(e) } });
  }
}

self.onmessage = (event: MessageEvent<ToWebWorker>) => {
  const msg = event.data;
  if (msg.t === 'bundle') {
    const url = URL.createObjectURL(new Blob([msg.code], { type: 'text/javascript' }));
    const loading = import(url) as Promise<TaskModule>;
    // The failure is reported by each task that awaits this module.
    loading.catch(() => undefined);
    modules.set(msg.hash, loading);
  } else {
    void run(msg.task);
  }
};
