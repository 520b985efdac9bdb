// The hub's own cost per task, without sockets, processes or browsers: one
// client and 100 pages of 2 threads over fake sockets (tests/helpers), 100,000
// tasks submitted 2,000 a frame, each page answering every `tasks` frame at
// once. For telling a refactor of the hub from the noise of `scale`, whose
// 1,000 real sockets swing ±20% between runs of the same code. Pass another
// checkout's root to time it the same way:
//   npx tsx bench/hub-inprocess.ts [/path/to/other/checkout]
import { fileURLToPath } from 'node:url';
import type { WebSocket } from 'ws';
import type { ToClient, ToPage } from '../protocol/messages.ts';
import type * as HubModule from '../coordinator/hub.ts';
import type * as AuthModule from '../coordinator/auth.ts';
import type * as Messages from '../protocol/messages.ts';
import type * as Codec from '../protocol/codec.ts';
import type * as Fake from '../tests/helpers/fake-socket.ts';

const root = process.argv[2] ?? fileURLToPath(new URL('..', import.meta.url));
const from = <T>(path: string) => import(`${root}/${path}`) as Promise<T>;
const { Hub } = await from<typeof HubModule>('coordinator/hub.ts');
const { TokenSet } = await from<typeof AuthModule>('coordinator/auth.ts');
const { PROTOCOL_VERSION } = await from<typeof Messages>('protocol/messages.ts');
const { packValue } = await from<typeof Codec>('protocol/codec.ts');
const { clientSocket, pageSocket, turn } = await from<typeof Fake>('tests/helpers/fake-socket.ts');

const TASKS = 100_000;
const PER_FRAME = 2_000;
const hub = new Hub({ tokens: new TokenSet({ default: 'tok' }) });
const client = clientSocket();
hub.accept(client as unknown as WebSocket, '10.0.0.1');
client.deliver({ t: 'hello', role: 'client', token: 'tok', version: PROTOCOL_VERSION });
const pages = Array.from({ length: 100 }, (_, i) => {
  const ws = pageSocket();
  hub.accept(ws as unknown as WebSocket, '10.0.0.2');
  ws.deliver({ t: 'hello', role: 'worker', threads: 2, userAgent: `page ${i}`, version: PROTOCOL_VERSION });
  return ws;
});
await turn();

const args = packValue([1], 'value');
const value = packValue(1, 'value');
let seq = 0;
let nextId = 1;
let sent = 0;
let got = 0;
const started = performance.now();
while (got < TASKS) {
  if (sent < TASKS && sent - got < 20_000) {
    const tasks = Array.from({ length: PER_FRAME }, () => ({ id: nextId++, bundle: 'b'.repeat(64), fn: 'f', args }));
    client.deliver({ t: 'submit', seq: ++seq, tasks });
    sent += PER_FRAME;
  }
  await turn();
  for (const page of pages) {
    const tasks = page.take<Extract<ToPage, { t: 'tasks' }>>('tasks').flatMap((m) => m.tasks);
    if (tasks.length === 0) continue;
    const ids = tasks.map((t) => t.id);
    page.deliver({ t: 'report', started: ids, results: ids.map((id) => ({ id, ok: true, value })), lost: [], submit: [], cancel: [], blocked: 0, ready: 0, local: 0 });
  }
  for (const m of client.take<Extract<ToClient, { t: 'results' }>>('results')) got += m.results.length;
  client.received.length = 0;
}
const seconds = (performance.now() - started) / 1000;
console.log(`${root}: ${Math.round(TASKS / seconds).toLocaleString('en-US')} tasks/s through the hub in process`);
hub.closeAll(1001, 'bench over');
