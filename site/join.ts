// The join page: opening it starts the volunteer runtime and shows what it does.
import { Runtime, threadsFromLocation, type RuntimeStatus } from '../browser-worker/runtime.ts';

function show(id: string, text: string): void {
  const el = document.getElementById(id);
  if (el) el.textContent = text;
}

function render(status: RuntimeStatus): void {
  show('state', status.state);
  show('threads', String(status.threads));
  show('done', String(status.tasksDone));
  show('running', String(status.running));
}

const runtime = new Runtime({ threads: threadsFromLocation(), onStatus: render });
// Exposed for tests and for the curious: `ladle.status` in the console.
(globalThis as { ladle?: Runtime }).ladle = runtime;
runtime.start();
