// The hub's verification policies over fake sockets: where replicas go, what
// the client gets, and what a liar's record becomes. The same run end to end in
// real Chromium is tests/e2e/verify*.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { WebSocket } from 'ws';
import { Hub, type HubOptions } from '../../coordinator/hub.ts';
import { TokenSet } from '../../coordinator/auth.ts';
import { CLIENT_CLOSED, PROTOCOL_VERSION, type TaskOutcome, type TaskSpec, type ToClient, type ToPage } from '../../protocol/messages.ts';
import { packValue, unpack } from '../../protocol/codec.ts';
import { clientSocket, pageSocket, turn, type FakeSocket } from '../helpers/fake-socket.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal } from '../../coordinator/journal.ts';
import { openSqliteStore } from '../../coordinator/store/sqlite-store.ts';

const BUNDLE = 'b'.repeat(64);
type Page = { ws: FakeSocket<ToPage>; name: string; answer: (x: number) => number };

function pack(value: unknown): Uint8Array {
  const bytes = packValue(value, 'value');
  if (!(bytes instanceof Uint8Array)) throw new Error('unpackable');
  return bytes;
}

async function grid(options: Partial<HubOptions> = {}) {
  const hub = new Hub({ tokens: new TokenSet({ default: 'tok' }), ...options });
  const client = clientSocket();
  hub.accept(client as unknown as WebSocket, '10.9.9.9');
  client.deliver({ t: 'hello', role: 'client', token: 'tok', version: PROTOCOL_VERSION });
  let seq = 0;
  let nextId = 1;
  const pages: Page[] = [];
  return {
    hub,
    client,
    pages,
    async join(name: string, address: string, answer: (x: number) => number = (x) => x * x) {
      const ws = pageSocket();
      hub.accept(ws as unknown as WebSocket, address);
      ws.deliver({ t: 'hello', role: 'worker', threads: 1, userAgent: name, version: PROTOCOL_VERSION, identity: name.padEnd(43, '_') });
      const page = { ws, name, answer };
      pages.push(page);
      await turn();
      return page;
    },
    submit(xs: number[], verify?: TaskSpec['verify']): number[] {
      const tasks = xs.map((x) => ({ id: nextId++, bundle: BUNDLE, fn: 'square', args: pack([x]), ...(verify === undefined ? {} : { verify }) }));
      client.deliver({ t: 'submit', seq: ++seq, tasks });
      return tasks.map((t) => t.id);
    },
    /** Every page answers what it holds, until no page holds anything; returns who ran what. */
    async runAll(): Promise<Map<string, TaskSpec[]>> {
      const ran = new Map<string, TaskSpec[]>();
      for (let round = 0; round < 50; round++) {
        await turn();
        let any = false;
        for (const p of pages) {
          const tasks = p.ws.take<Extract<ToPage, { t: 'tasks' }>>('tasks').flatMap((m) => m.tasks);
          if (tasks.length === 0) continue;
          any = true;
          ran.set(p.name, [...(ran.get(p.name) ?? []), ...tasks]);
          const results: TaskOutcome[] = tasks.map((t) => ({ id: t.id, ok: true, value: pack(p.answer((unpack(t.args) as number[])[0])) }));
          p.ws.deliver({ t: 'report', started: tasks.map((t) => t.id), results, lost: [], submit: [], cancel: [], blocked: 0, ready: 0, local: 0 });
        }
        if (!any) break;
      }
      await turn();
      return ran;
    },
    results(): Map<number, number> {
      const out = new Map<number, number>();
      for (const m of client.take<Extract<ToClient, { t: 'results' }>>('results')) for (const r of m.results) if (r.ok) out.set(r.id, unpack(r.value) as number);
      return out;
    },
    close() {
      hub.closeAll(1001, 'test over');
    },
  };
}

test('verify: 2 runs a task on two distinct pages and delivers the one result they agree on', async () => {
  const g = await grid();
  for (const name of ['a', 'b', 'c']) await g.join(name, '10.0.0.1');
  const [id] = g.submit([4], 2);
  const ran = await g.runAll();
  assert.deepEqual([...ran.values()].map((tasks) => tasks.length), [1, 1], 'two pages, one replica each');
  assert.ok([...ran.values()].every((tasks) => tasks[0].verify === 2), 'pages are told the task is verified');
  assert.deepEqual([...g.results()], [[id, 16]]);
  const { verify } = g.hub.stats();
  assert.deepEqual([verify.tasks, verify.runs, verify.agreements, verify.disagreements], [1, 2, 1, 0]);
  g.close();
});

test('a task without verify runs once, on one page', async () => {
  const g = await grid();
  for (const name of ['a', 'b']) await g.join(name, '10.0.0.1');
  g.submit([3]);
  const ran = await g.runAll();
  assert.deepEqual([...ran.values()].map((tasks) => tasks.length), [1]);
  assert.equal(ran.values().next().value?.[0].verify, undefined);
  assert.deepEqual([...g.results().values()], [9]);
  g.close();
});

test('a liar loses the quorum: no wrong result, it is quarantined, told so, and gets no more verified work', async () => {
  const g = await grid();
  await g.join('liar', '10.0.0.1', () => -1);
  for (const name of ['a', 'b']) await g.join(name, '10.0.0.1');
  const xs = [1, 2, 3, 4, 5, 6];
  g.submit(xs, 2);
  const ran = await g.runAll();
  assert.ok((ran.get('liar')?.length ?? 0) > 0, 'the liar took part');
  assert.deepEqual([...g.results().values()].sort((p, q) => p - q), xs.map((x) => x * x));
  const liar = g.hub.stats().perWorker.find((w) => w.userAgent === 'liar')!;
  assert.equal(liar.trust.quarantined, true);
  const told = g.pages[0].ws.take<Extract<ToPage, { t: 'standing' }>>('standing');
  assert.equal(told.at(-1)?.quarantined, true, 'its page hears of it');
  // More verified work goes around it; work that is not verified still reaches it.
  g.submit([7, 8, 9, 10], 2);
  const after = await g.runAll();
  assert.equal(after.get('liar'), undefined);
  assert.deepEqual([...g.results().values()].sort((p, q) => p - q), [49, 64, 81, 100]);
  g.submit([11, 12, 13, 14, 15, 16]);
  assert.ok(((await g.runAll()).get('liar')?.length ?? 0) > 0);
  g.close();
});

test('while another address is joined, replicas avoid an address already used: two tabs on one address cannot agree alone', async () => {
  const g = await grid();
  // Two lying tabs on one address, lying alike; two honest pages elsewhere.
  await g.join('tab1', '10.0.0.7', () => -1);
  await g.join('tab2', '10.0.0.7', () => -1);
  await g.join('b', '10.0.0.8');
  await g.join('c', '10.0.0.9');
  const xs = [1, 2, 3, 4, 5, 6, 7, 8];
  g.submit(xs, 2);
  const ran = await g.runAll();
  // Pages see each replica under an id of its own; its argument says which task it is.
  const byTask = new Map<number, string[]>();
  for (const [name, tasks] of ran) {
    for (const t of tasks) {
      const x = (unpack(t.args) as number[])[0];
      byTask.set(x, [...(byTask.get(x) ?? []), name]);
    }
  }
  assert.deepEqual([...g.results().values()].sort((p, q) => p - q), xs.map((x) => x * x), 'no wrong result');
  assert.ok((ran.get('tab1')?.length ?? 0) + (ran.get('tab2')?.length ?? 0) > 0, 'the tabs took part');
  for (const [x, names] of byTask) assert.ok(!(names.includes('tab1') && names.includes('tab2')), `task ${x} ran on both tabs of one address: ${names.join(', ')}`);
  g.close();
});

test('adaptive: pages are checked until trusted, then only at random (the injected draw)', async () => {
  let draw = 0.99;
  const g = await grid({ random: () => draw });
  for (const name of ['a', 'b']) await g.join(name, '10.0.0.1');
  // Five checked results each make both pages trusted (each check counts for both).
  g.submit([1, 2, 3, 4, 5], 'adaptive');
  const first = await g.runAll();
  assert.equal([...first.values()].reduce((n, t) => n + t.length, 0), 10, 'every untrusted result was checked');
  assert.ok(g.hub.stats().perWorker.every((w) => w.trust.trusted));
  g.submit([6, 7, 8, 9], 'adaptive');
  const trusted = await g.runAll();
  assert.equal([...trusted.values()].reduce((n, t) => n + t.length, 0), 4, 'a high draw: no spot check');
  draw = 0;
  g.submit([10, 11], 'adaptive');
  const spot = await g.runAll();
  assert.equal([...spot.values()].reduce((n, t) => n + t.length, 0), 4, 'a low draw: each result checked');
  assert.equal(g.results().size, 11);
  g.close();
});

test("the grid's default verifies tasks that do not say, and a handle's 'off' overrides it", async () => {
  const g = await grid({ verify: 2 });
  for (const name of ['a', 'b']) await g.join(name, '10.0.0.1');
  g.submit([2]);
  assert.equal([...(await g.runAll()).values()].reduce((n, t) => n + t.length, 0), 2);
  g.submit([3], 'off');
  assert.equal([...(await g.runAll()).values()].reduce((n, t) => n + t.length, 0), 1);
  g.close();
});

test('a client that leaves takes its replicas off the pages', async () => {
  const g = await grid();
  for (const name of ['a', 'b']) await g.join(name, '10.0.0.1');
  g.submit([5], 2);
  await turn();
  const held = g.pages.flatMap((p) => p.ws.take<Extract<ToPage, { t: 'tasks' }>>('tasks').flatMap((m) => m.tasks.map((t) => t.id)));
  assert.equal(held.length, 2);
  g.client.close(1000, CLIENT_CLOSED);
  await turn();
  const cancelled = g.pages.flatMap((p) => p.ws.take<Extract<ToPage, { t: 'cancel' }>>('cancel').flatMap((m) => m.ids));
  assert.deepEqual(cancelled.sort(), held.sort());
  assert.equal(g.hub.stats().queued + g.hub.stats().running, 0);
  g.close();
});

test("a page cannot change its subtask's verification: the coordinator sets it from the parent", async () => {
  const g = await grid();
  const a = await g.join('a', '10.0.0.1');
  await g.join('b', '10.0.0.1');
  await g.join('c', '10.0.0.1');
  // An unverified parent whose page asks for verify: 9 on its subtask, and a verified one whose page asks for 'off'.
  g.submit([1]);
  g.submit([2], 2);
  await turn();
  const held = g.pages.map((p) => p.ws.take<Extract<ToPage, { t: 'tasks' }>>('tasks').flatMap((m) => m.tasks));
  const parent = held[0].find((t) => t.verify === undefined);
  const replica = held.flat().find((t) => t.verify === 2)!;
  assert.ok(parent, "page a holds the unverified task");
  const holder = g.pages[held.findIndex((tasks) => tasks.includes(replica))];
  const sub = (id: number, under: number, verify: TaskSpec['verify']) => ({ id, bundle: BUNDLE, fn: 'square', args: pack([id]), verify, under: { task: under } });
  const report = (p: Page, started: number, spec: ReturnType<typeof sub>) =>
    p.ws.deliver({ t: 'report', started: [started], results: [], lost: [], submit: [spec], cancel: [], blocked: 1, ready: 0, local: 0 });
  report(a, parent.id, sub(101, parent.id, 9));
  report(holder, replica.id, sub(102, replica.id, 'off'));
  await turn();
  await turn();
  const sent = g.pages.flatMap((p) => p.ws.take<Extract<ToPage, { t: 'tasks' }>>('tasks').flatMap((m) => m.tasks));
  const runs = (x: number) => sent.filter((t) => (unpack(t.args) as number[])[0] === x);
  assert.equal(runs(101).length, 1, 'the unverified parent\'s subtask runs once, whatever its page asked');
  assert.equal(runs(101)[0].verify, undefined);
  assert.equal(runs(102).length, 2, "the verified parent's subtask is verified as it is");
  assert.ok(runs(102).every((t) => t.verify === 2));
  g.close();
});

test("a client's own comparison: an answer of the wrong length, or from another client, is not an answer", async () => {
  const g = await grid();
  await g.join('a', '10.0.0.1', (x) => x * x);
  await g.join('b', '10.0.0.1', (x) => x * x + 1e-9);
  const other = clientSocket();
  g.hub.accept(other as unknown as WebSocket, '10.9.9.8');
  other.deliver({ t: 'hello', role: 'client', token: 'tok', version: PROTOCOL_VERSION });
  g.client.deliver({ t: 'submit', seq: 1, tasks: [{ id: 1, bundle: BUNDLE, fn: 'square', args: pack([3]), verify: 2, equal: 'close' }] });
  await g.runAll();
  const [ask] = g.client.take<Extract<ToClient, { t: 'compare' }>>('compare');
  assert.equal(ask.fn, 'close');
  assert.deepEqual(ask.pairs.map(([x, y]) => [unpack(x), unpack(y)].sort()), [[9, 9 + 1e-9]]);
  other.deliver({ t: 'compared', seq: 1, req: ask.req, equal: [true] });
  g.client.deliver({ t: 'compared', seq: 2, req: ask.req, equal: [true, true] });
  await g.runAll();
  assert.equal(g.results().size, 0, 'still undecided');
  g.client.deliver({ t: 'compared', seq: 3, req: ask.req, equal: [true] });
  await g.runAll();
  assert.deepEqual([...g.results()].map(([id, v]) => [id, Math.round(v)]), [[1, 9]]);
  assert.ok(g.hub.stats().perWorker.every((w) => w.trust.checked === 0), "the client's word moves no page's record");
  g.close();
});

/** A grid whose hub writes to a real SQLite file in a temp folder, and its
 * restart: the next hub, restored from what the first left there. */
async function durableGrid(t: { after: (fn: () => Promise<void>) => void }) {
  const dir = await mkdtemp(join(tmpdir(), 'ladle-hub-'));
  const store = await openSqliteStore(dir);
  const journal = new Journal(store, () => ({ completed: 0, failed: 0 }), (e) => assert.fail(e));
  const first = await grid({ journal });
  let reopened: Awaited<ReturnType<typeof openSqliteStore>> | undefined;
  t.after(async () => {
    reopened?.close();
    await rm(dir, { recursive: true, force: true });
  });
  return {
    first,
    async restart() {
      first.close();
      journal.close();
      store.close();
      reopened = await openSqliteStore(dir);
      const next = await grid();
      next.hub.restore(reopened.load());
      return next;
    },
  };
}

test('a durable coordinator keeps trust records across a restart: the quarantined liar stays barred, the honest pages keep their record', async (t) => {
  const { first: g, restart } = await durableGrid(t);
  await g.join('liar', '10.0.0.1', () => -1);
  for (const name of ['a', 'b']) await g.join(name, '10.0.0.1');
  g.submit([1, 2, 3, 4, 5, 6], 2);
  await g.runAll();
  const before = new Map(g.hub.stats().perWorker.map((w) => [w.userAgent, w.trust]));
  assert.equal(before.get('liar')?.quarantined, true);

  // The next run, from the same folder: the same identities join again.
  const h = await restart();
  await h.join('liar', '10.0.0.1', () => -1);
  for (const name of ['a', 'b']) await h.join(name, '10.0.0.1');
  const after = new Map(h.hub.stats().perWorker.map((w) => [w.userAgent, w.trust]));
  assert.deepEqual(after, before, 'every record as it was');
  assert.equal(h.hub.stats().verify.quarantined, 1);
  assert.equal(h.pages[0].ws.take<Extract<ToPage, { t: 'standing' }>>('standing').at(-1)?.quarantined, true, 'the liar is told at once');
  h.submit([7, 8, 9, 10], 2);
  assert.equal((await h.runAll()).get('liar'), undefined, 'no verified work for the liar after the restart');
  assert.deepEqual([...h.results().values()].sort((p, q) => p - q), [49, 64, 81, 100]);
  h.close();
});

test("a durable coordinator's restart does not swallow the answer to a shared.set: the resumed client gets it again", async (t) => {
  const { first: g, restart } = await durableGrid(t);
  const welcome = g.client.take<Extract<ToClient, { t: 'welcome' }>>('welcome')[0];
  g.client.deliver({ t: 'share', seq: 1, req: 7, values: { factor: pack(3) } });
  await turn();
  // The coordinator answered (and stored the constant); the process dies before the client reads it.
  assert.equal(g.client.take<Extract<ToClient, { t: 'shared' }>>('shared').length, 1);

  const h = await restart();
  const client = clientSocket();
  h.hub.accept(client as unknown as WebSocket, '10.9.9.9');
  client.deliver({ t: 'hello', role: 'client', token: 'tok', version: PROTOCOL_VERSION, resume: { clientId: welcome.clientId, secret: welcome.secret, ack: 0 } });
  await turn();
  assert.equal(client.take<Extract<ToClient, { t: 'welcome' }>>('welcome')[0]?.resumed, true);
  assert.deepEqual(
    client.take<Extract<ToClient, { t: 'shared' }>>('shared').map(({ req, error }) => ({ req, error })),
    [{ req: 7, error: undefined }],
    'the answer goes again, as a success',
  );
  h.close();
});
