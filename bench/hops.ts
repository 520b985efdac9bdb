// `npx tsx bench/hops.ts [rounds]`: what each layout of a volunteer page
// costs a lone round trip, in one Chromium page against a `ws` echo server in
// this process: 40-byte sequential echoes, with or without a hop to a second
// thread (where a task would run) between receiving and answering. Each
// layout is timed in every round, the order rotated between rounds (the first
// layout timed in a fresh page pays for the page's start-up work). It decided
// what issue 17's round trip got (bench/README.md, "Per-task overhead").
import { createServer } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { launchChromium } from '../cli/chromium.ts';

const rounds = Number(process.argv[2] ?? 3);
// A page of an http://127.0.0.1 origin: Chromium blocks about:blank from local sockets.
const http = createServer((_, res) => res.end('<!doctype html><title>hops</title>'));
http.listen(0, '127.0.0.1');
await once(http, 'listening');
new WebSocketServer({ server: http }).on('connection', (ws) => ws.on('message', (data) => ws.send(data)));
const origin = `127.0.0.1:${(http.address() as AddressInfo).port}`;

// In the page, as a string (tsx would add helpers the page lacks). Each
// layout resolves with the median ms per echo of 10 batches of 100.
const inPage = `async ({ url, rounds }) => {
  const timing = \`const time = async (once) => {
      for (let i = 0; i < 200; i++) await once();
      const out = [];
      for (let b = 0; b < 10; b++) { const t = performance.now(); for (let i = 0; i < 100; i++) await once(); out.push((performance.now() - t) / 100); }
      return out.sort((a, b) => a - b)[5];
    };
    const open = async (url) => { const ws = new WebSocket(url); ws.binaryType = 'arraybuffer'; await new Promise((r) => (ws.onopen = r)); return ws; };\`;
  const worker = (src) => new Worker(URL.createObjectURL(new Blob([timing + src], { type: 'text/javascript' })));
  eval(timing.replace('const time', 'globalThis.time').replace('const open', 'globalThis.open_'));
  // A thread that answers what it is sent: where a task would run.
  const task = worker('onmessage = (e) => { if (e.data instanceof MessagePort) e.data.onmessage = (m) => e.data.postMessage(m.data); else postMessage(e.data); };');
  const ask = (w) => new Promise((r) => { w.onmessage = (e) => r(e.data); });
  const layouts = {
    // The bench's floor: the socket on the page's main thread.
    'socket on the main thread': async () => { const ws = await open_(url); const ms = await time(() => new Promise((r) => { ws.onmessage = r; ws.send(new Uint8Array(40)); })); ws.close(); return ms; },
    // Today's page: socket on the main thread, the task in a Web Worker.
    'socket on the main thread + hop to a worker': async () => {
      const ws = await open_(url);
      const ms = await time(() => new Promise((r) => { ws.onmessage = (m) => { task.onmessage = () => { ws.onmessage = r; ws.send(m.data); }; task.postMessage(m.data); }; ws.send(new Uint8Array(40)); }));
      ws.close(); return ms;
    },
    // The same over a MessageChannel instead of the worker's own postMessage.
    'socket on the main thread + MessageChannel hop to a worker': async () => {
      const ch = new MessageChannel();
      task.postMessage(ch.port2, [ch.port2]);
      const port = ch.port1;
      const ws = await open_(url);
      const ms = await time(() => new Promise((r) => { ws.onmessage = (m) => { port.onmessage = () => { ws.onmessage = r; ws.send(m.data); }; port.postMessage(m.data); }; ws.send(new Uint8Array(40)); }));
      ws.close(); port.close(); return ms;
    },
    // The socket alone in a dedicated worker.
    'socket in a worker': () => { const w = worker('onmessage = async (e) => { const ws = await open(e.data); postMessage(await time(() => new Promise((r) => { ws.onmessage = r; ws.send(new Uint8Array(40)); }))); ws.close(); close(); };'); const p = ask(w); w.postMessage(url); return p; },
    // The link worker of bench/README: socket in a worker, the task worker behind a MessageChannel.
    'socket in a worker + MessageChannel hop to a worker': () => {
      const ch = new MessageChannel();
      task.postMessage(ch.port2, [ch.port2]);
      const w = worker('onmessage = async (e) => { const [url, port] = e.data; const ws = await open(url); postMessage(await time(() => new Promise((r) => { ws.onmessage = (m) => { port.onmessage = (a) => { ws.onmessage = r; ws.send(a.data); }; port.postMessage(m.data); }; ws.send(new Uint8Array(40)); }))); ws.close(); close(); };');
      const p = ask(w); w.postMessage([url, ch.port1], [ch.port1]); return p;
    },
    // Only the socket moved to a worker, the main thread still dispatching.
    'socket in a worker, relayed by the main thread + hop to a worker': async () => {
      const relay = worker('let ws; onmessage = async (e) => { if (typeof e.data === "string") { ws = await open(e.data); postMessage("open"); ws.onmessage = (m) => postMessage(m.data, [m.data]); } else ws.send(e.data); };');
      const opened = ask(relay); relay.postMessage(url); await opened;
      const send = () => { const b = new Uint8Array(40); relay.postMessage(b, [b.buffer]); };
      const ms = await time(() => new Promise((r) => { relay.onmessage = (m) => { task.onmessage = (a) => { relay.onmessage = r; relay.postMessage(a.data, [a.data]); }; task.postMessage(m.data, [m.data]); }; send(); }));
      relay.terminate(); return ms;
    },
  };
  const names = Object.keys(layouts);
  const out = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) for (let i = 0; i < names.length; i++) { const n = names[(i + r) % names.length]; out[n].push(await layouts[n]()); }
  return out;
}`;

const browser = await launchChromium();
try {
  const page = await browser.newPage();
  await page.goto(`http://${origin}/`);
  const out = await page.evaluate<Record<string, number[]>>(`(${inPage})(${JSON.stringify({ url: `ws://${origin}/`, rounds })})`);
  const load = (await import('node:os')).loadavg()[0];
  console.log(`ms per echo, median batch of each round (${rounds} rounds, order rotated; load average ${load.toFixed(1)}; Chromium ${browser.version()})`);
  for (const [name, ms] of Object.entries(out)) console.log(`${name.padEnd(66)} ${ms.map((x) => x.toFixed(3)).join('  ')}`);
} finally {
  await browser.close();
  http.close();
}
process.exit(0);
