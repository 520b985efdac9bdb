// A durable coordinator's sessions across a restart, through a raw client
// socket (no browser): a result the client had not acknowledged waits for it
// in the store and arrives when it resumes; its queued task is queued again;
// the file holds the secret's hash only, and a wrong secret cannot resume.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import Database from 'better-sqlite3';
import { startCoordinator, type Coordinator } from '../../coordinator/coordinator.ts';
import { PROTOCOL_VERSION, WS_PATH, decodeFrame, encodeFrame, parseToClient, type ClientHello, type ToClient } from '../../protocol/messages.ts';
import { pack } from '../../protocol/codec.ts';
import { hashSecret } from '../../coordinator/journal.ts';
import { statsUntil } from '../helpers/cli.ts';

const TOKEN = 'sessions-secret';
const BUNDLE = 'ab'.repeat(32);

/** A client socket that keeps every frame it is sent; `next` awaits one that matches. */
async function rawClient(c: Coordinator, resume?: ClientHello['resume']) {
  const ws = new WebSocket(`${c.url.replace('http', 'ws')}${WS_PATH}`);
  const frames: ToClient[] = [];
  const waiters: (() => void)[] = [];
  ws.on('message', (data: Buffer) => {
    frames.push(decodeFrame(data, parseToClient));
    for (const w of waiters.splice(0)) w();
  });
  await once(ws, 'open');
  ws.send(encodeFrame({ t: 'hello', role: 'client', token: TOKEN, version: PROTOCOL_VERSION, resume }));
  const next = <T extends ToClient>(match: (f: ToClient) => f is T): Promise<T> =>
    new Promise((resolve, reject) => {
      const check = () => {
        const found = frames.find(match);
        if (found) resolve(found);
        else if (ws.readyState === WebSocket.CLOSED) reject(new Error('closed'));
        else waiters.push(check);
      };
      ws.once('close', check);
      check();
    });
  return { ws, frames, next };
}

const isWelcome = (f: ToClient): f is Extract<ToClient, { t: 'welcome' }> => f.t === 'welcome';
const isResults = (f: ToClient): f is Extract<ToClient, { t: 'results' }> => f.t === 'results' && f.results.length > 0;
const isShared = (f: ToClient): f is Extract<ToClient, { t: 'shared' }> => f.t === 'shared';

test('a restarted durable coordinator gives a resuming client its unacknowledged result, requeues its task, and knows only its secret\'s hash', { timeout: 120_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ladle-sessions-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const options = { host: '127.0.0.1', port: 0, token: TOKEN, dataDir: dir, durable: true };
  const first = await startCoordinator(options);
  let clientId: string;
  let secret: string;
  try {
    const a = await rawClient(first);
    ({ clientId, secret } = await a.next(isWelcome));
    // Task 1 is refused at once (attempts 0): a result. Task 2 waits for a page that never comes.
    a.ws.send(
      encodeFrame({
        t: 'submit',
        seq: 1,
        tasks: [
          { id: 1, bundle: BUNDLE, fn: 'f', args: pack([1]), attempts: 0 },
          { id: 2, bundle: BUNDLE, fn: 'f', args: pack([2]) },
        ],
      }),
    );
    a.ws.send(encodeFrame({ t: 'share', seq: 2, req: 1, values: { factor: pack(3) } }));
    const { results } = await a.next(isResults);
    assert.deepEqual(results.map((r) => [r.id, r.ok]), [[1, false]]);
    await a.next(isShared);
    // Never acknowledged: the socket just drops.
    a.ws.terminate();
  } finally {
    await first.close();
  }

  const file = await readFile(join(dir, 'ladle.db'));
  assert.equal(file.includes(secret), false, 'the secret is not in the file');
  assert.equal(file.includes(hashSecret(secret)), true, 'its hash is');

  const second = await startCoordinator(options);
  try {
    const intruder = await rawClient(second, { clientId, secret: 'not-the-secret', ack: 0 });
    const [code] = (await once(intruder.ws, 'close')) as [number];
    assert.equal(code, 4002, 'a wrong secret does not resume the session');

    const b = await rawClient(second, { clientId, secret, ack: 0 });
    const welcome = await b.next(isWelcome);
    assert.deepEqual([welcome.clientId, welcome.secret, welcome.resumed, welcome.ack], [clientId, secret, true, 2]);
    const { results, seq } = await b.next(isResults);
    assert.equal(results.length, 1);
    const [kept] = results;
    assert.equal(kept.ok, false);
    assert.deepEqual([kept.id, !kept.ok && kept.kind, !kept.ok && kept.error.message], [1, 'invalid', 'attempts is a whole number from 1 to 100; got 0']);
    const stats = await statsUntil({ url: second.url, adminToken: TOKEN }, (s) => s.clients === 1);
    assert.equal(stats.queued, 1, 'task 2 is queued again');

    // Acknowledged, the result leaves the store.
    b.ws.send(encodeFrame({ t: 'ack', seq }));
    const db = new Database(join(dir, 'ladle.db'), { readonly: true });
    t.after(() => db.close());
    const count = () => (db.prepare('SELECT count(*) AS n FROM results').get() as { n: number }).n;
    const deadline = Date.now() + 10_000;
    while (count() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(count(), 0);
    assert.deepEqual(db.prepare('SELECT name FROM shared').all(), [{ name: 'factor' }]);
    b.ws.terminate();
  } finally {
    await second.close();
  }
});
