// The floor under any grid round trip: a relay in its own process, where the
// coordinator would be, between a Node client (the SDK's place) and a page.
// It forwards each frame to the other side and does nothing else, so a
// client -> relay -> page -> relay -> client echo is two socket legs and two
// process wake-ups with no work: what Ladle's round trip adds is the rest.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export type RelayRequest = { id: number; t: 'stop' };
export type RelayReply = { t: 'ready'; url: string } | { id: number; t: 'stopped' };

const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
await once(server, 'listening');
let page: WebSocket | undefined;
let client: WebSocket | undefined;
server.on('connection', (ws, req) => {
  if (req.url === '/page') {
    page = ws;
    ws.on('message', (data) => client?.send(data as Buffer));
  } else {
    client = ws;
    ws.on('message', (data) => page?.send(data as Buffer));
  }
});

const send = (msg: RelayReply) => {
  if (process.connected) process.send!(msg);
};
const stop = () => {
  for (const ws of server.clients) ws.terminate();
  server.close();
};
process.on('message', (req: RelayRequest) => {
  if (req.t !== 'stop') return;
  stop();
  send({ id: req.id, t: 'stopped' });
  if (process.connected) process.disconnect();
});
process.on('SIGINT', () => undefined);
process.on('disconnect', () => {
  stop();
  process.exit(0);
});
send({ t: 'ready', url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}` });
