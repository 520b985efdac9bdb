// Task lanes: a Web Worker's own socket to the coordinator, for a lone
// task's round trip (see LaneHello in protocol/messages.ts). Real Chromium
// pages use them; hostile ones are played by raw sockets against a real
// coordinator: a lane serves only its page's tasks of its own client, and
// answers only what it was sent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { WebSocket } from 'ws';
import type { Coordinator } from '../../coordinator/coordinator.ts';
import { connect } from '../../client-sdk/index.ts';
import { pack, unpack } from '../../protocol/codec.ts';
import { CloseCode, PROTOCOL_VERSION, decodeFrame, encodeFrame, parseToClient, parseToLane, type TaskSpec, type ToClient } from '../../protocol/messages.ts';
import { fetchStats, statsUntil } from '../helpers/cli.ts';
import { until } from '../helpers/futures.ts';
import { RawPage, rawClient, when } from '../helpers/raw-sockets.ts';
import { fixture, startTestGrid, withCoordinator } from '../helpers/grid.ts';
import type * as Tasks from '../fixtures/tasks.ts';
import type * as Scoop from '../fixtures/scoop.ts';

const lanesOf = async (c: Coordinator) => (await fetchStats({ url: c.url, adminToken: c.adminToken })).lanes;

test('lone tasks go over a Web Worker lane and come back right; a lane task spawns subtasks, and one that runs long shows running and stops with its client', { timeout: 120_000 }, async () => {
  const g = await startTestGrid({ pages: 1, threads: 2 });
  try {
    const tasks = await g.grid.module<typeof Tasks>(fixture('tasks.ts'));
    for (let i = 0; i < 30; i++) assert.equal(await g.grid.submit(tasks.square, i), i * i);
    const after30 = await lanesOf(g.coordinator);
    assert.ok(after30.tasks >= 20, `most of 30 lone tasks went over a lane (${after30.tasks} did)`);
    assert.ok(after30.open >= 1);

    // Its subtasks wait in the worker until the page has heard of it from the coordinator.
    const scoop = await g.grid.module<typeof Scoop>(fixture('scoop.ts'));
    for (let i = 0; i < 3; i++) assert.equal(await g.grid.submit(scoop.fib, 12), 144);
    assert.ok((await lanesOf(g.coordinator)).tasks > after30.tasks, 'fib went over a lane too');

    // A map is not lone: its tasks go to the page.
    const before = (await lanesOf(g.coordinator)).tasks;
    const xs = Array.from({ length: 40 }, (_, i) => i);
    assert.deepEqual(await g.grid.map(tasks.square, xs, { chunkSize: 1 }), xs.map((x) => x * x));
    const laned = (await lanesOf(g.coordinator)).tasks - before;
    assert.ok(laned <= 2, `a map's tasks go to the page; only one that finds it idle (its first, its last) may take a lane (${laned} did)`);

    // A long one: the page hears of it, the client sees it run, and it stops with its client.
    const b = await connect({ url: g.coordinator.url, token: g.coordinator.token });
    const bTasks = await b.module<typeof Tasks>(fixture('tasks.ts'));
    // Its worker's lane is open and ready once one of its lone tasks went over it.
    let lanesBefore = (await lanesOf(g.coordinator)).tasks;
    for (let i = 0; i < 50 && (await lanesOf(g.coordinator)).tasks === lanesBefore; i++) assert.equal(await b.submit(bTasks.square, i), i * i);
    lanesBefore = (await lanesOf(g.coordinator)).tasks;
    const long = b.submit(bTasks.sleepThen, 600_000, 1);
    long.then(undefined, () => undefined);
    await g.workers.pages[0].waitForFunction(() => (globalThis as unknown as { ladle: { status: { running: number } } }).ladle.status.running === 1);
    await until(() => long.running(), 'the client hears its lane task runs');
    assert.equal((await lanesOf(g.coordinator)).tasks, lanesBefore + 1, 'it went over a lane');
    await b.close();
    await g.workers.pages[0].waitForFunction(() => (globalThis as unknown as { ladle: { status: { running: number } } }).ladle.status.running === 0);
    assert.equal(await g.grid.submit(tasks.square, 9), 81);
  } finally {
    await g.close();
  }
});

test('a Web Worker retired by a lower thread setting closes its lane at once, and the task it still runs answers through the page', { timeout: 120_000 }, async () => {
  const g = await startTestGrid({ pages: 1, threads: 2 });
  const b = await connect({ url: g.coordinator.url, token: g.coordinator.token });
  const admin = { url: g.coordinator.url, adminToken: g.coordinator.adminToken };
  const page = g.workers.pages[0];
  const running = (n: number) => page.waitForFunction((n) => (globalThis as unknown as { ladle: { status: { running: number } } }).ladle.status.running === n, n);
  try {
    const tasks = await g.grid.module<typeof Tasks>(fixture('tasks.ts'));
    const bTasks = await b.module<typeof Tasks>(fixture('tasks.ts'));
    // Each client's Web Worker opens its lane with its first task.
    assert.equal(await g.grid.submit(tasks.square, 2), 4);
    assert.equal(await b.submit(bTasks.square, 3), 9);
    await statsUntil(admin, (s) => s.lanes.open === 2);
    // Both workers busy for a while: the page retires one of them, busy.
    const a1 = g.grid.submit(tasks.sleepThen, 4_000, 7);
    await running(1);
    const b1 = b.submit(bTasks.sleepThen, 4_000, 8);
    await running(2);
    await page.evaluate(() => (globalThis as unknown as { ladle: { setThreads(n: number): void } }).ladle.setThreads(1));
    await statsUntil(admin, (s) => s.lanes.open === 1);
    assert.ok(!a1.done() && !b1.done(), 'its lane closed while its task still ran, not when the worker ended');
    assert.deepEqual(await Promise.all([a1, b1]), [7, 8]);
  } finally {
    await b.close();
    await g.close();
  }
});

/** A lane played by a raw socket. */
class RawLane {
  readonly tasks: TaskSpec[] = [];
  private constructor(readonly ws: WebSocket) {}

  static async open(c: Coordinator, key: string, nonce: string): Promise<RawLane> {
    const ws = new WebSocket(`ws://127.0.0.1:${c.port}/ws`);
    const lane = new RawLane(ws);
    ws.on('message', (data: Buffer) => lane.tasks.push(...decodeFrame(new Uint8Array(data), parseToLane).tasks));
    await once(ws, 'open');
    ws.send(encodeFrame({ t: 'hello', role: 'lane', version: PROTOCOL_VERSION, key, nonce }));
    return lane;
  }

  send(msg: Parameters<typeof encodeFrame>[0]): void {
    this.ws.send(encodeFrame(msg));
  }
}

/** What a raw client heard, frame by frame. */
function heard(ws: WebSocket): ToClient[] {
  const frames: ToClient[] = [];
  ws.on('message', (data: Buffer) => frames.push(decodeFrame(new Uint8Array(data), parseToClient)));
  return frames;
}
const resultsIn = (frames: ToClient[]) => frames.flatMap((f) => (f.t === 'results' ? f.results : []));

const bundle = 'b'.repeat(64);
const task = (id: number) => ({ id, bundle, fn: 'f', args: pack([id]) });

test("a lane takes only its own client's lone tasks, answers only what it was sent, and one that closes unanswered leaves its task to the page", { timeout: 60_000 }, async () => {
  await withCoordinator({}, async (c) => {
    const page = await RawPage.join(c, 1, undefined, { lanes: true });
    const a = await rawClient(c);
    const aHeard = heard(a.ws);
    a.ws.send(encodeFrame({ t: 'submit', seq: 1, tasks: [task(1)] }));
    const [first] = await when(page.ws, () => (page.tasks.length > 0 ? page.tasks : undefined), 'the first task, to the page');
    const grantAt = page.frames.findIndex((f) => f.t === 'lane');
    const grant = page.frames[grantAt];
    assert.ok(grant?.t === 'lane' && grant.scope === first.scope, "the page gets a lane key for the task's client");
    assert.ok(grantAt < page.frames.findIndex((f) => f.t === 'tasks'), 'before the task');

    const stranger = await RawLane.open(c, 'x'.repeat(24), 'n0');
    const [code, reason] = (await once(stranger.ws, 'close')) as [number, Buffer];
    assert.deepEqual([code, reason.toString()], [CloseCode.PROTOCOL, 'unknown lane key']);

    // A lane with the right key that sends what is no frame of the protocol is closed, as any socket is.
    const garbled = await RawLane.open(c, grant.key, 'n-garbled');
    garbled.ws.send(new Uint8Array([0xc1, 0xff, 0x00]));
    const [garbledCode] = (await once(garbled.ws, 'close')) as [number, Buffer];
    assert.equal(garbledCode, CloseCode.PROTOCOL);

    const lane = await RawLane.open(c, grant.key, 'n1');
    lane.send({ t: 'ready', bundles: [bundle], shared: 0 });
    page.report({ started: [first.id], results: [{ id: first.id, ok: true, value: pack(1) }] });
    await when(a.ws, () => resultsIn(aHeard).find((r) => r.id === 1), 'the first result');

    // The page holds nothing: the next lone task goes over the lane, and the page is not told (it answers at once).
    a.ws.send(encodeFrame({ t: 'submit', seq: 2, tasks: [task(2)] }));
    const [second] = await when(lane.ws, () => (lane.tasks.length > 0 ? lane.tasks : undefined), 'the second task, over the lane');
    assert.equal(second.scope, first.scope);
    assert.deepEqual(unpack(second.args), [2]);
    lane.send({ t: 'results', results: [{ id: second.id, ok: true, value: pack(4) }] });
    const r2 = await when(a.ws, () => resultsIn(aHeard).find((r) => r.id === 2), 'the lane result');
    assert.deepEqual(r2.ok && unpack(r2.value), 4);

    // Another client's task never goes over this client's lane, idle as it is.
    const b = await rawClient(c);
    b.ws.send(encodeFrame({ t: 'submit', seq: 1, tasks: [task(1)] }));
    const [, other] = await when(page.ws, () => (page.tasks.length > 1 ? page.tasks : undefined), "the other client's task, to the page");
    assert.notEqual(other.scope, first.scope);
    assert.equal(lane.tasks.length, 1);
    page.report({ started: [other.id], results: [{ id: other.id, ok: true, value: pack(0) }] });

    // A lane that closes with its task unanswered: the page hears of the task, then of the close, and answers itself.
    const lane2 = await RawLane.open(c, grant.key, 'n2');
    lane2.send({ t: 'ready', bundles: [bundle], shared: 0 });
    // A lane that says a task it does not hold spawns is closed for it: the page would hear of another's task.
    // (A lane task that took this raw lane over 2 ms to answer was told to the page: count from here.)
    const told = page.frames.filter((f) => f.t === 'laned').length;
    const spawner = await RawLane.open(c, grant.key, 'n3');
    spawner.send({ t: 'spawning', id: other.id });
    const [spawnCode, spawnReason] = (await once(spawner.ws, 'close')) as [number, Buffer];
    assert.equal(spawnCode, CloseCode.PROTOCOL);
    assert.match(spawnReason.toString(), /a lane said task \d+ spawns, which it was not sent/);
    assert.equal(page.frames.filter((f) => f.t === 'laned').length, told, 'the page heard of nothing');
    // The first lane answers a task it was never sent: it is closed for it.
    lane.send({ t: 'results', results: [{ id: other.id, ok: true, value: pack(666) }] });
    const [lyingCode, lyingReason] = (await once(lane.ws, 'close')) as [number, Buffer];
    assert.equal(lyingCode, CloseCode.PROTOCOL);
    assert.match(lyingReason.toString(), /a lane answered task \d+, which it was not sent/);
    a.ws.send(encodeFrame({ t: 'submit', seq: 3, tasks: [task(3)] }));
    const [third] = await when(lane2.ws, () => (lane2.tasks.length > 0 ? lane2.tasks : undefined), 'the third task, over the second lane');
    lane2.ws.close();
    const closedNote = await when(page.ws, () => page.frames.find((f) => f.t === 'laneClosed'), 'the page told of the closed lane');
    assert.deepEqual(closedNote, { t: 'laneClosed', nonce: 'n2', ids: [third.id] });
    const laned = page.frames.find((f) => f.t === 'laned' && f.nonce === 'n2');
    assert.ok(laned?.t === 'laned' && laned.nonce === 'n2' && laned.tasks[0].id === third.id && laned.tasks[0].args.byteLength === 0, 'heard of first, without its arguments');
    page.report({ results: [{ id: third.id, ok: true, value: pack(9) }] });
    const r3 = await when(a.ws, () => resultsIn(aHeard).find((r) => r.id === 3), 'the third result, from the page');
    assert.deepEqual(r3.ok && unpack(r3.value), 9);
    a.ws.close();
    b.ws.close();
    page.ws.close();
  });
});
