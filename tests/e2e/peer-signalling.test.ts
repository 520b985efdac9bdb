// The coordinator's side of peer offloading, over real sockets (pages played
// by plain WebSockets): only pages it knows may register with the PeerServer,
// under the worker id it gave them; it keeps the record of offloads, and
// when a page leaves it tells the pages on either side of its offloads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { WebSocket } from 'ws';
import { withCoordinator } from '../helpers/grid.ts';
import type { Coordinator } from '../../coordinator/coordinator.ts';
import { statsUntil } from '../helpers/cli.ts';
import { PROTOCOL_VERSION, decodeFrame, encodeFrame, parseToPage, type ToPage } from '../../protocol/messages.ts';

/** A page as the coordinator sees one: a socket that said hello. */
async function joinAsPage(c: Coordinator): Promise<{ ws: WebSocket; welcome: Extract<ToPage, { t: 'welcome' }> }> {
  const ws = new WebSocket(`ws://127.0.0.1:${c.port}/ws`);
  await once(ws, 'open');
  ws.send(encodeFrame({ t: 'hello', role: 'worker', threads: 1, userAgent: 'test', version: PROTOCOL_VERSION }));
  const [data] = (await once(ws, 'message')) as [Buffer];
  const welcome = decodeFrame(new Uint8Array(data), parseToPage);
  assert.equal(welcome.t, 'welcome');
  return { ws, welcome };
}

/** Opens the PeerServer's signalling socket as peerjs does, with `token` (a
 * page's secret from its welcome); resolves with its first message or the HTTP refusal. */
function signal(c: Coordinator, path: string, id: string, token = 't0k', headers: Record<string, string> = {}): Promise<{ status?: number; first?: { type: string }; ws?: WebSocket }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${c.port}${path}/peerjs?key=ladle&id=${encodeURIComponent(id)}&token=${encodeURIComponent(token)}`, { headers });
    ws.on('unexpected-response', (_req, res) => resolve({ status: res.statusCode }));
    ws.on('message', (data) => resolve({ first: JSON.parse(String(data)) as { type: string }, ws }));
    ws.on('error', () => undefined);
  });
}

test('the welcome tells a page where the PeerServer is; only connected pages may register there, under their own id', { timeout: 30_000 }, async () => {
  await withCoordinator({ iceServers: [{ urls: 'stun:stun.example.org:3478' }] }, async (c) => {
    const { ws: page, welcome } = await joinAsPage(c);
    // Its secret for the PeerServer rides along: 24 random bytes, base64url.
    assert.match(welcome.peer?.token ?? '', /^[\w-]{32}$/);
    assert.deepEqual(welcome.peer, { path: '/peerjs', key: 'ladle', iceServers: [{ urls: 'stun:stun.example.org:3478' }], token: welcome.peer!.token });

    const stranger = await signal(c, '/peerjs', 'not-a-page');
    assert.equal(stranger.status, 403, 'an id the coordinator did not issue is refused');

    const registered = await signal(c, '/peerjs', welcome.workerId, welcome.peer.token);
    assert.equal(registered.first?.type, 'OPEN', 'the page registers under its worker id');
    registered.ws!.close();

    const elsewhere = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${c.port}/somewhere-else`);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('error', () => undefined);
    });
    assert.equal(elsewhere, 404, 'upgrades to other paths are refused');

    // A page that leaves loses its registration, and its id is refused from then on.
    const again = await signal(c, '/peerjs', welcome.workerId, welcome.peer.token);
    assert.equal(again.first?.type, 'OPEN');
    const evicted = once(again.ws!, 'close');
    page.close();
    await evicted;
    await statsUntil(c, (s) => s.workers === 0);
    assert.equal((await signal(c, '/peerjs', welcome.workerId, welcome.peer.token)).status, 403);
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

/** The next frame a raw page receives that is not a ping. */
async function nextFrame(ws: WebSocket): Promise<ToPage> {
  for (;;) {
    const [data] = (await once(ws, 'message')) as [Buffer];
    const msg = decodeFrame(new Uint8Array(data), parseToPage);
    if (msg.t !== 'ping') return msg;
  }
}

const report = (fields: Partial<Extract<Parameters<typeof encodeFrame>[0], { t: 'report' }>>) =>
  encodeFrame({ t: 'report', started: [], results: [], lost: [], submit: [], cancel: [], blocked: 0, ready: 0, local: 0, ...fields });

test('the record of offloads: when a page leaves, the page whose subtasks it held and the page holding its subtasks are told', { timeout: 30_000 }, async () => {
  await withCoordinator({}, async (c) => {
    const a = await joinAsPage(c);
    const b = await joinAsPage(c);
    const d = await joinAsPage(c);
    // a gave subtasks 1 and 2 to b; b gave subtask 7 to d.
    a.ws.send(report({ offload: [{ to: b.welcome.workerId, ids: [1, 2] }] }));
    b.ws.send(report({ offload: [{ to: d.welcome.workerId, ids: [7] }], stole: [{ from: a.welcome.workerId, got: 2, linked: true }] }));
    let s = await statsUntil(c, (x) => x.peer.tasksOnPeers === 3);
    const holding = s.perWorker;
    assert.equal(holding.find((w) => w.id === b.welcome.workerId)?.peerTasks, 2);
    assert.equal(holding.find((w) => w.id === d.welcome.workerId)?.peerTasks, 1);

    // Subtask 2's result came back to a: only 1 is out now.
    a.ws.send(report({ returned: [2] }));
    await statsUntil(c, (x) => x.peer.tasksOnPeers === 2);

    const toA = nextFrame(a.ws);
    const toD = nextFrame(d.ws);
    b.ws.terminate();
    assert.deepEqual(await toA, { t: 'peerGone', peer: b.welcome.workerId }, 'a takes back what b held');
    assert.deepEqual(await toD, { t: 'peerGone', peer: b.welcome.workerId }, "d drops b's subtask");
    s = await statsUntil(c, (x) => x.workers === 2);
    assert.equal(s.peer.tasksOnPeers, 0);
    assert.equal(s.peer.tasksOffloaded, 3);

    // An offload reported to a page that has already left is taken back at once.
    a.ws.send(report({ offload: [{ to: b.welcome.workerId, ids: [3] }] }));
    assert.deepEqual(await nextFrame(a.ws), { t: 'peerGone', peer: b.welcome.workerId });
    a.ws.close();
    d.ws.close();
  });
});

test('a steal hint has two halves: the idle page is sent to steal, and the busy page hears whom to lend to (and answers no one else)', { timeout: 30_000 }, async () => {
  await withCoordinator({}, async (c) => {
    const busy = await joinAsPage(c);
    const idle = await joinAsPage(c);
    for (const p of [busy, idle]) p.ws.send(encodeFrame({ t: 'peer', open: true }));
    await statsUntil(c, (s) => s.peer.pages === 2);
    const toBusy = nextFrame(busy.ws);
    const toIdle = nextFrame(idle.ws);
    // Its one thread runs a task that has spawned 3 subtasks, ready to be taken.
    busy.ws.send(report({ ready: 3, local: 1 }));
    assert.deepEqual(await toIdle, { t: 'steal', from: busy.welcome.workerId, max: 1 });
    // `has`: what the thief can offer tasks with needs (this bare page reported nothing).
    assert.deepEqual(await toBusy, { t: 'lend', to: idle.welcome.workerId, max: 1, has: [] });
    busy.ws.close();
    idle.ws.close();
  });
});

test("an attacker who knows a page's id cannot take its PeerServer registration: only the page's secret opens it", { timeout: 30_000 }, async () => {
  await withCoordinator({}, async (c) => {
    const a = await joinAsPage(c);
    const b = await joinAsPage(c);
    const id = a.welcome.workerId;
    // The race the attacker used to win: it registers first, before the page does.
    for (const token of ['t0k', '', b.welcome.peer!.token!, a.welcome.peer!.token!.slice(0, -1)]) {
      assert.equal((await signal(c, '/peerjs', id, token)).status, 403, `token "${token}" is refused for a's id`);
    }
    const real = await signal(c, '/peerjs', id, a.welcome.peer!.token);
    assert.equal(real.first?.type, 'OPEN', 'the page itself still registers');
    // Once it is registered, the attacker still cannot displace or shadow it.
    assert.equal((await signal(c, '/peerjs', id, 'guess')).status, 403);
    real.ws!.close();
    a.ws.close();
    b.ws.close();
  });
});

test('the PeerServer answers same-origin only: a foreign Origin is refused, no CORS for it, no X-Powered-By', { timeout: 30_000 }, async () => {
  await withCoordinator({ allowedOrigins: ['https://partner.example'] }, async (c) => {
    const [p, q] = [await joinAsPage(c), await joinAsPage(c)];
    const evil = await signal(c, '/peerjs', p.welcome.workerId, p.welcome.peer!.token, { origin: 'http://evil.example' });
    assert.equal(evil.status, 403, "another site's page cannot open the signalling socket");
    const same = await signal(c, '/peerjs', p.welcome.workerId, p.welcome.peer!.token, { origin: c.url });
    assert.equal(same.first?.type, 'OPEN', 'a page served by the coordinator can');
    same.ws!.close();
    const partner = await signal(c, '/peerjs', q.welcome.workerId, q.welcome.peer!.token, { origin: 'https://partner.example' });
    assert.equal(partner.first?.type, 'OPEN', 'so can an origin given in --allowed-origins');
    partner.ws!.close();

    for (const path of ['/peerjs', '/peerjs/ladle/id', '/', '/api/stats']) {
      const res = await fetch(`${c.url}${path}`, { headers: { origin: 'http://evil.example' } });
      assert.equal(res.headers.get('access-control-allow-origin'), null, `${path} allows no other origin`);
      assert.equal(res.headers.get('x-powered-by'), null, `${path} does not say what it runs on`);
    }
    p.ws.close();
    q.ws.close();
  });
});
