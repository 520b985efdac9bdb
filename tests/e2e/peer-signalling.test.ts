// The PeerServer in the coordinator, over real sockets: only pages the
// coordinator knows may register, under the worker id it gave them, and a
// page that leaves takes its registration with it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { WebSocket } from 'ws';
import { startCoordinator, type Coordinator, type CoordinatorOptions } from '../../coordinator/coordinator.ts';
import { statsUntil } from '../helpers/cli.ts';
import { PROTOCOL_VERSION, decodeFrame, encodeFrame, parseToPage, type ToPage } from '../../protocol/messages.ts';

async function withCoordinator(options: CoordinatorOptions, body: (c: Coordinator) => Promise<void>): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'ladle-test-'));
  const c = await startCoordinator({ ...options, host: '127.0.0.1', port: 0, dataDir });
  try {
    await body(c);
  } finally {
    await c.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** A page as the coordinator sees one: a socket that said hello. */
async function joinAsPage(c: Coordinator): Promise<{ ws: WebSocket; welcome: Extract<ToPage, { t: 'welcome' }> }> {
  const ws = new WebSocket(`ws://127.0.0.1:${c.port}/ws`);
  await once(ws, 'open');
  ws.send(encodeFrame({ t: 'hello', role: 'worker', threads: 1, userAgent: 'test', version: PROTOCOL_VERSION }));
  const [data] = (await once(ws, 'message')) as [Buffer];
  const welcome = decodeFrame(new Uint8Array(data), parseToPage);
  assert.equal(welcome.t, 'welcome');
  return { ws, welcome: welcome as Extract<ToPage, { t: 'welcome' }> };
}

/** Opens the PeerServer's signalling socket as peerjs does; resolves with its first message or the HTTP refusal. */
function signal(c: Coordinator, path: string, id: string): Promise<{ status?: number; first?: { type: string }; ws?: WebSocket }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${c.port}${path}/peerjs?key=ladle&id=${encodeURIComponent(id)}&token=t0k`);
    ws.on('unexpected-response', (_req, res) => resolve({ status: res.statusCode }));
    ws.on('message', (data) => resolve({ first: JSON.parse(String(data)) as { type: string }, ws }));
    ws.on('error', () => undefined);
  });
}

test('the welcome tells a page where the PeerServer is; only connected pages may register there, under their own id', { timeout: 30_000 }, async () => {
  await withCoordinator({ iceServers: [{ urls: 'stun:stun.example.org:3478' }] }, async (c) => {
    const { ws: page, welcome } = await joinAsPage(c);
    assert.deepEqual(welcome.peer, { path: '/peerjs', key: 'ladle', iceServers: [{ urls: 'stun:stun.example.org:3478' }] });

    const stranger = await signal(c, '/peerjs', 'not-a-page');
    assert.equal(stranger.status, 403, 'an id the coordinator did not issue is refused');

    const registered = await signal(c, '/peerjs', welcome.workerId);
    assert.equal(registered.first?.type, 'OPEN', 'the page registers under its worker id');
    registered.ws!.close();

    const elsewhere = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${c.port}/somewhere-else`);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('error', () => undefined);
    });
    assert.equal(elsewhere, 404, 'upgrades to other paths are refused');

    // A page that leaves loses its registration, and its id is refused from then on.
    const again = await signal(c, '/peerjs', welcome.workerId);
    assert.equal(again.first?.type, 'OPEN');
    const evicted = once(again.ws!, 'close');
    page.close();
    await evicted;
    await statsUntil(c.url, (s) => s.workers === 0);
    assert.equal((await signal(c, '/peerjs', welcome.workerId)).status, 403);
  });
});

test('with offloading off (--no-offload) pages are told nothing of peers and there is no PeerServer', { timeout: 30_000 }, async () => {
  await withCoordinator({ peerOffload: false }, async (c) => {
    const { ws, welcome } = await joinAsPage(c);
    assert.equal(welcome.peer, undefined);
    assert.equal((await signal(c, '/peerjs', welcome.workerId)).status, 404);
    ws.close();
  });
});
