// Bounded input before trust: the coordinator runs in its own process, a real Chromium page
// and an SDK client do honest work, and hostile sockets send what an
// adversarial review sent a live coordinator: a 60 MiB first frame of nils,
// tiny frames that promise billions of items or nest thousands deep, and a
// page whose reports name far more tasks than it holds.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import WebSocket from 'ws';
import { connect, type Grid, type ModuleHandles } from '../../client-sdk/index.ts';
import { launchWorkers, type LocalWorkers } from '../../cli/workers.ts';
import { pack } from '../../protocol/codec.ts';
import { CloseCode, PROTOCOL_VERSION, encodeFrame } from '../../protocol/messages.ts';
import { runLadle, type LadleProcess } from '../helpers/cli.ts';
import { fixture, testBrowser } from '../helpers/grid.ts';
import type * as Tasks from '../fixtures/tasks.ts';

const TOKEN = 'hostile-input-test-token';
let ladle: LadleProcess;
let url: string;
let dataDir: string;
let workers: LocalWorkers;
let grid: Grid;
let tasks: ModuleHandles<typeof Tasks>;

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'ladle-hostile-'));
  ladle = runLadle(['coordinator', '--host', '127.0.0.1', '--port', '0', '--token', TOKEN, '--data', dataDir]);
  url = (await ladle.waitFor(/http:\/\/127\.0\.0\.1:\d+/))[0];
  workers = await launchWorkers({ url, browser: await testBrowser(), count: 1, threads: 2 });
  grid = await connect({ url, token: TOKEN });
  tasks = await grid.module<typeof Tasks>(fixture('tasks.ts'));
  // Warm up: the coordinator has served a page, a client and a task before memory is read.
  assert.equal(await grid.submit(tasks.square, 3), 9);
});

after(async () => {
  await grid?.close();
  await workers?.close();
  await ladle?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

/** A socket that sends `frames` once open; resolves with how the coordinator closed it. */
async function hostile(frames: Uint8Array[]): Promise<{ code: number; reason: string }> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/ws`);
  ws.on('error', () => undefined);
  await once(ws, 'open');
  for (const f of frames) ws.send(f);
  const [code, reason] = (await once(ws, 'close')) as [number, Buffer];
  return { code, reason: reason.toString() };
}

/** The frame of the review's attack: a msgpack array of `n` nils. */
function nils(n: number): Uint8Array {
  const frame = new Uint8Array(5 + n).fill(0xc0);
  frame.set([0xdd, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
  return frame;
}

const pageHello = () => encodeFrame({ t: 'hello', role: 'worker', threads: 1, userAgent: 'hostile', version: PROTOCOL_VERSION });

/** Opens a WebSocket by hand and sends the header of one binary frame that
 * says it carries `bytes`, then only the first KiB of its body: the rest never
 * comes. Resolves with the close code the coordinator sends back. */
async function promisedFrame(bytes: number): Promise<number> {
  const { port } = new URL(url);
  const socket = createConnection(Number(port), '127.0.0.1');
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  socket.write(`GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  let received = Buffer.alloc(0);
  const upgraded = (): boolean => received.includes('\r\n\r\n');
  socket.on('data', (chunk: Buffer) => (received = Buffer.concat([received, chunk])));
  while (!upgraded()) await once(socket, 'data');
  assert.match(received.toString('latin1'), /^HTTP\/1\.1 101/);
  received = received.subarray(received.indexOf('\r\n\r\n') + 4);
  // FIN + binary, masked, 64-bit length; a zero mask leaves the body as is.
  const header = Buffer.alloc(14);
  header[0] = 0x82;
  header[1] = 0x80 | 127;
  header.writeBigUInt64BE(BigInt(bytes), 2);
  socket.write(Buffer.concat([header, Buffer.from(nils(bytes - 5).subarray(0, 1024))]));
  // The server's close frame: 0x88, a length, then the code.
  while (received.length < 4) await once(socket, 'data');
  assert.equal(received[0], 0x88, 'a close frame');
  const code = received.readUInt16BE(2);
  socket.destroy();
  return code;
}

test('a 60 MiB first frame is refused from its header (1009), before its body is sent, while honest work completes', { timeout: 60_000 }, async () => {
  // Honest work, while the attack is under way.
  const [code, square, stats] = await Promise.all([promisedFrame(60 * 1024 * 1024), grid.submit(tasks.square, 12).result(), fetch(`${url}/api/stats`)]);
  assert.equal(square, 144, 'the control task completed on the honest page');
  assert.equal(stats.status, 200, '/api/stats answered');
  assert.equal(code, 1009, 'closed as too big from the header alone: the coordinator never holds the body');
  // The review's attack was repeatable: three more at once.
  assert.deepEqual(await Promise.all([1, 2, 3].map(() => promisedFrame(60 * 1024 * 1024))), [1009, 1009, 1009]);
  assert.equal(await grid.submit(tasks.square, 13), 169);
});

test('tiny frames that promise billions of items or nest thousands deep are refused (4000, protocol) before decoding', { timeout: 60_000 }, async () => {
  const deep = await hostile([new Uint8Array(4000).fill(0x91)]);
  assert.equal(deep.code, CloseCode.PROTOCOL);
  assert.match(deep.reason, /nests deeper than 4/);
  const huge = await hostile([Uint8Array.of(0xdd, 0xff, 0xff, 0xff, 0xff)]);
  assert.equal(huge.code, CloseCode.PROTOCOL);
  assert.match(huge.reason, /container of 4294967295 items/);
  // After a valid hello, a page's frames may be large, but not costly to decode:
  // a 16 MiB array of nils is refused by the scan, not decoded.
  const page = await hostile([pageHello(), nils(16 * 1024 * 1024)]);
  assert.equal(page.code, CloseCode.PROTOCOL);
  assert.match(page.reason, /over the limit/);
  const nested = await hostile([pageHello(), new Uint8Array(100_000).fill(0x91)]);
  assert.match(nested.reason, /nests deeper than 32/);
  assert.equal(await grid.submit(tasks.square, 5), 25);
  assert.equal((await fetch(`${url}/api/stats`)).status, 200);
});

test("a page's report may name only about as many tasks as it holds", { timeout: 60_000 }, async () => {
  const report = (started: number[]) =>
    encodeFrame({ t: 'report', started, results: [], lost: [], submit: [], cancel: [], blocked: 0, ready: 0, local: 0 });
  const ok = new WebSocket(`${url.replace('http', 'ws')}/ws`);
  ok.on('error', () => undefined);
  await once(ok, 'open');
  ok.send(pageHello());
  await once(ok, 'message');
  // A few unknown ids (a task taken from it on the way) are ignored...
  ok.send(report([1, 2, 3]));
  ok.send(encodeFrame({ t: 'pong' }));
  // ...100,000 are not a page's report.
  ok.send(report(Array.from({ length: 100_000 }, (_, i) => i + 1_000_000)));
  const [code, reason] = (await once(ok, 'close')) as [number, Buffer];
  assert.equal(code, CloseCode.PROTOCOL);
  assert.match(reason.toString(), /report\.started names 100000 tasks; this page holds at most 1024/);
  assert.equal(await grid.submit(tasks.square, 6), 36);
});

test('a hello within the size limit still works: a client with the right token is welcomed', async () => {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/ws`);
  ws.on('error', () => undefined);
  await once(ws, 'open');
  ws.send(pack({ t: 'hello', role: 'client', token: TOKEN, version: PROTOCOL_VERSION }));
  const [data] = (await once(ws, 'message')) as [Buffer];
  assert.ok(data.length > 0);
  ws.close();
});
