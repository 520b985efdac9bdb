// A client leaving is told to every page that ran its tasks (they replace
// the Web Workers that served it), not only to pages sent its constants.
// Protocol-level pages against the real coordinator: what they are sent is
// the thing under test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { PROTOCOL_VERSION, WS_PATH, decodeFrame, encodeFrame, parseToPage, type ToPage } from '../../protocol/messages.ts';
import { startCoordinator } from '../../coordinator/coordinator.ts';
import { connect } from '../../client-sdk/index.ts';

/** A page that answers each task with its args and keeps every frame it gets. */
async function protocolPage(url: string): Promise<{ ws: WebSocket; frames: ToPage[]; next(pred: (m: ToPage) => boolean): Promise<ToPage> }> {
  const ws = new WebSocket(url);
  const frames: ToPage[] = [];
  const waiters: (() => void)[] = [];
  ws.on('message', (data: Buffer) => {
    const msg = decodeFrame(new Uint8Array(data), parseToPage);
    frames.push(msg);
    if (msg.t === 'tasks') {
      const started = msg.tasks.map((t) => t.id);
      const results = msg.tasks.map((t) => ({ id: t.id, ok: true as const, value: t.args }));
      ws.send(encodeFrame({ t: 'report', started, results, lost: [], submit: [], cancel: [], blocked: 0, ready: 0, local: 0 }));
    }
    for (const w of waiters.splice(0)) w();
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.once('open', () => {
      ws.send(encodeFrame({ t: 'hello', role: 'worker', threads: 1, userAgent: 'protocol page', version: PROTOCOL_VERSION }));
      resolve();
    });
  });
  const next = (pred: (m: ToPage) => boolean) =>
    new Promise<ToPage>((resolve) => {
      const check = () => {
        const hit = frames.find(pred);
        if (hit) resolve(hit);
        else waiters.push(check);
      };
      check();
    });
  await next((m) => m.t === 'welcome');
  return { ws, frames, next };
}

test("a client that leaves is unshared on the page that ran its tasks, and only there", { timeout: 60_000 }, async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'ladle-unshare-'));
  const c = await startCoordinator({ host: '127.0.0.1', port: 0, dataDir, peerOffload: false });
  try {
    const url = `${c.url.replace(/^http/, 'ws')}${WS_PATH}`;
    const ran = await protocolPage(url);
    const client = await connect({ url: c.url, token: c.token });
    const inc = client.fn((x: number) => x + 1);
    // The task runs on the one page there is; its echo of the args comes back as the result.
    assert.deepEqual(await client.submit(inc, 41), [41]);
    const tasks = (await ran.next((m) => m.t === 'tasks')) as Extract<ToPage, { t: 'tasks' }>;
    const scope = tasks.tasks[0].scope;
    assert.equal(typeof scope, 'string');
    // A second page that joins later runs nothing of this client.
    const idle = await protocolPage(url);
    await client.close();
    assert.deepEqual(await ran.next((m) => m.t === 'unshare'), { t: 'unshare', scope });
    // The idle page hears nothing of it (a ping round shows the socket is alive and in order).
    const other = await connect({ url: c.url, token: c.token });
    await other.close();
    assert.equal(idle.frames.filter((m) => m.t === 'unshare').length, 0);
    assert.equal(ran.frames.filter((m) => m.t === 'unshare').length, 1, 'the page is told once');
    ran.ws.close();
    idle.ws.close();
  } finally {
    await c.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});
