// Hostile input against a real coordinator: after each attack it still
// serves /api/stats and runs a normal task in real Chromium.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import WebSocket from 'ws';
import { connect, ConnectionError, RemoteError } from '../../client-sdk/index.ts';
import { pack } from '../../protocol/codec.ts';
import { CloseCode, PROTOCOL_VERSION, encodeFrame } from '../../protocol/messages.ts';
import { startTestGrid, fixture, type TestGrid } from '../helpers/grid.ts';
import type * as Tasks from '../fixtures/tasks.ts';

let g: TestGrid;
let wsUrl: string;
before(async () => {
  g = await startTestGrid({ pages: 1, threads: 2, coordinator: { maxPayload: 1024 * 1024, submitRate: 20_000 } });
  wsUrl = g.coordinator.url.replace('http', 'ws') + '/ws';
});
after(async () => {
  await g?.close();
});

/** The coordinator still works: stats answer and a task runs. */
async function stillServing(): Promise<void> {
  const res = await fetch(`${g.coordinator.url}/api/stats`);
  assert.equal(res.status, 200);
  const tasks = await g.grid.module<typeof Tasks>(fixture('tasks.ts'));
  assert.equal(await g.grid.submit(tasks.square, 9), 81);
}

/** Opens a raw socket, sends frames, and resolves with how it was closed. */
function rawSession(frames: (Uint8Array | string)[]): Promise<{ code: number; reason: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl);
    ws.on('open', () => {
      for (const f of frames) ws.send(f);
    });
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    ws.on('error', () => undefined);
    // Generous: the flood test's 600,000 tasks take the coordinator seconds to read on a busy machine.
    setTimeout(() => reject(new Error('the coordinator did not close the connection')), 45_000).unref();
  });
}

const clientHello = () => encodeFrame({ t: 'hello', role: 'client', token: g.coordinator.token, version: PROTOCOL_VERSION });

test('a wrong token and a missing token are refused at once, with a reason', async () => {
  for (const token of ['wrong-token-123', '']) {
    // rawSession waits for the coordinator to close the socket: the refusal, not a timeout, closes it.
    const closed = await rawSession([encodeFrame({ t: 'hello', role: 'client', token, version: PROTOCOL_VERSION })]);
    assert.equal(closed.code, CloseCode.INVALID_TOKEN);
    assert.equal(closed.reason, 'invalid token');
  }
  const noToken = await rawSession([pack({ t: 'hello', role: 'client', version: PROTOCOL_VERSION })]);
  assert.equal(noToken.code, CloseCode.PROTOCOL);
  assert.match(noToken.reason, /hello.token/);
  await assert.rejects(connect({ url: g.coordinator.url, token: 'also-wrong-1' }), ConnectionError);
  await stillServing();
});

test('uploads need the token', async () => {
  const res = await fetch(`${g.coordinator.url}/api/bundles/${'a'.repeat(64)}`, { method: 'PUT', body: 'export const x = 1' });
  assert.equal(res.status, 401);
});

test('300 malformed frames: each closes its connection with the protocol close code and a reason', { timeout: 120_000 }, async () => {
  // A seeded generator, so a failure reproduces.
  let seed = 0x5eed;
  const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(random() * 256));
  const valid = encodeFrame({ t: 'submit', seq: 1, tasks: [{ id: 1, bundle: 'a'.repeat(64), fn: 'f', args: pack([1]) }] });
  const makers: (() => Uint8Array | string)[] = [
    () => bytes(1 + Math.floor(random() * 64)),
    () => valid.subarray(0, 1 + Math.floor(random() * (valid.length - 2))),
    () => pack({ t: 'submit', seq: 'one', tasks: [] }),
    () => pack({ t: 'submit', seq: 1, tasks: [{ id: -1, bundle: 'x', fn: 7, args: 'no' }] }),
    () => pack({ t: 'cancel', seq: 2, ids: ['a', {}] }),
    () => pack({ t: 'share', seq: 3, req: 1, values: JSON.parse('{"__proto__": {"polluted": true}}') as unknown }),
    () => pack(JSON.parse('{"t": "submit", "__proto__": {"polluted": true}, "seq": 1, "tasks": 5}')),
    () => pack({ t: 'no-such-message', seq: 1 }),
    () => 'text frames are not the protocol',
  ];
  for (let i = 0; i < 300; i++) {
    const frame = makers[i % makers.length]();
    const closed = await rawSession([clientHello(), frame]);
    assert.equal(closed.code, CloseCode.PROTOCOL, `frame ${i} closed with ${closed.code} ${closed.reason}`);
    assert.ok(closed.reason.length > 0);
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype was polluted');
  await stillServing();
});

test('malformed hellos from would-be pages are refused too', async () => {
  const closed = await rawSession([pack({ t: 'hello', role: 'worker', threads: 0, userAgent: 'x', version: PROTOCOL_VERSION })]);
  assert.equal(closed.code, CloseCode.PROTOCOL);
  assert.match(closed.reason, /threads/);
  await stillServing();
});

test('a frame over maxPayload closes that connection (1009)', async () => {
  const big = pack({ t: 'submit', seq: 1, tasks: [{ id: 1, bundle: 'a'.repeat(64), fn: 'f', args: new Uint8Array(2 * 1024 * 1024) }] });
  const clientsBefore = ((await (await fetch(`${g.coordinator.url}/api/stats`)).json()) as { clients: number }).clients;
  const closed = await rawSession([clientHello(), big]);
  assert.equal(closed.code, 1009);
  const stats = (await (await fetch(`${g.coordinator.url}/api/stats`)).json()) as { clients: number };
  assert.equal(stats.clients, clientsBefore, 'the session ended with it (resuming would resend the same frame)');
  await stillServing();
});

test('/bundles only serves hex sha256 names: no path traversal', async () => {
  for (const path of ['/bundles/..%2F..%2Fpackage.json', '/bundles/../../package.json', '/bundles/%2e%2e%2fpackage.json', `/bundles/${'A'.repeat(64)}`, '/bundles/abc']) {
    const res = await fetch(`${g.coordinator.url}${path}`);
    assert.ok(res.status === 404, `${path}: ${res.status}`);
    assert.doesNotMatch(await res.text(), /"name": "ladle-grid"/);
  }
  await stillServing();
});

test('task code cannot reach another origin: fetch to a local port is blocked and the server sees nothing', async () => {
  let hits = 0;
  const bystander = createServer((_req, res) => {
    hits++;
    res.end('secret');
  });
  await new Promise<void>((r) => bystander.listen(0, '127.0.0.1', r));
  const port = (bystander.address() as { port: number }).port;
  try {
    const probe = g.grid.fn(async (url: string) => {
      const res = await fetch(url);
      return res.text();
    });
    const err = await g.grid.submit(probe, `http://127.0.0.1:${port}/`).exception();
    assert.ok(err instanceof RemoteError, `got ${String(err)}`);
    assert.equal(err.remoteName, 'TypeError');
    const ws = g.grid.fn(
      (url: string) =>
        new Promise<string>((resolve, reject) => {
          try {
            const s = new WebSocket(url);
            s.onopen = () => resolve('opened');
            s.onerror = () => reject(new Error('blocked'));
          } catch (e) {
            reject(e);
          }
        }),
    );
    assert.ok((await g.grid.submit(ws, `ws://127.0.0.1:${port}/`).exception()) instanceof RemoteError);
    assert.equal(hits, 0, 'the other server received no request');
  } finally {
    bystander.close();
  }
  await stillServing();
});

test('pages and scripts carry the security headers; no secret is in the page', async () => {
  for (const path of ['/', '/join.js', '/worker.js']) {
    const res = await fetch(`${g.coordinator.url}${path}`);
    assert.match(res.headers.get('content-security-policy') ?? '', /connect-src 'self'/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
    assert.ok(!(await res.text()).includes(g.coordinator.token), `${path} must not contain the token`);
  }
});

test('a flood of submissions from one connection is cut off with a reason', { timeout: 60_000 }, async () => {
  const task = { id: 0, bundle: 'a'.repeat(64), fn: 'f', args: pack([1]) };
  const frames: Uint8Array[] = [clientHello()];
  let id = 1;
  for (let f = 1; f <= 60; f++) frames.push(encodeFrame({ t: 'submit', seq: f, tasks: Array.from({ length: 10_000 }, () => ({ ...task, id: id++ })) }));
  const closed = await rawSession(frames);
  assert.equal(closed.code, CloseCode.THROTTLED);
  assert.match(closed.reason, /rate limit/);
  const stats = (await (await fetch(`${g.coordinator.url}/api/stats`)).json()) as { queued: number };
  assert.equal(stats.queued, 0, "the flooding client's tasks were dropped with it");
  await stillServing();
});

test('repeated wrong tokens from one address are slowed down', async () => {
  const reasons: string[] = [];
  const codes: number[] = [];
  for (let i = 0; i < 8; i++) {
    const closed = await rawSession([encodeFrame({ t: 'hello', role: 'client', token: `guess-${i}-xxxx`, version: PROTOCOL_VERSION })]);
    reasons.push(closed.reason);
    codes.push(closed.code);
  }
  assert.match(reasons.at(-1), /too many failed attempts; retry in \d+ s/);
  assert.equal(codes.at(-1), CloseCode.THROTTLED);
});
