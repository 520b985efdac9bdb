// Pages are other people's browsers: a page acts only on its own work.
// Hostile pages are played by raw sockets speaking the protocol, against a
// real coordinator, beside honest pages in real Chromium and a real SDK client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launchWorkers, type LocalWorkers } from '../../cli/workers.ts';
import { connect } from '../../client-sdk/index.ts';
import { pack } from '../../protocol/codec.ts';
import {
  CLIENT_CLOSED,
  encodeFrame,
  type ReleasedTask,
} from '../../protocol/messages.ts';
import { statsUntil } from '../helpers/cli.ts';
import { RawPage, rawClient, when } from '../helpers/raw-sockets.ts';
import { fixture, testBrowser, withCoordinator } from '../helpers/grid.ts';
import type * as Tasks from '../fixtures/tasks.ts';

const bundle = 'a'.repeat(64);

test("pages never see a client's session id: tasks, constants and unshare carry an opaque scope", { timeout: 60_000 }, async () => {
  await withCoordinator({}, async (c) => {
    const page = await RawPage.join(c, 2);
    const { ws, clientId } = await rawClient(c);
    ws.send(encodeFrame({ t: 'share', seq: 1, req: 1, values: { factor: pack(3) } }));
    ws.send(encodeFrame({ t: 'submit', seq: 2, tasks: [{ id: 1, bundle, fn: 'f', args: pack([]) }] }));
    const [task] = await when(page.ws, () => (page.tasks.length > 0 ? page.tasks : undefined), 'the task');
    assert.equal(typeof task.scope, 'string');
    assert.notEqual(task.scope, clientId);
    assert.ok(!task.scope!.includes(clientId) && !clientId.includes(task.scope!), 'the scope is unrelated to the session id');
    const shared = page.frames.find((f) => f.t === 'shared');
    assert.deepEqual(shared, { t: 'shared', scope: task.scope, values: { factor: new Uint8Array(pack(3)) } }, 'constants come under the same scope');

    // A second client's tree has another scope.
    const other = await rawClient(c);
    other.ws.send(encodeFrame({ t: 'submit', seq: 1, tasks: [{ id: 1, bundle, fn: 'f', args: pack([]) }] }));
    const [, second] = await when(page.ws, () => (page.tasks.length > 1 ? page.tasks : undefined), "the second client's task");
    assert.notEqual(second.scope, task.scope);
    assert.notEqual(second.scope, other.clientId);

    ws.close(1000, CLIENT_CLOSED);
    const unshare = await when(page.ws, () => page.frames.find((f) => f.t === 'unshare'), 'the unshare');
    assert.deepEqual(unshare, { t: 'unshare', scope: task.scope });
    other.ws.close(1000, CLIENT_CLOSED);
    page.ws.close();
  });
});

test("a page cannot inject tasks into another client's job: made-up parents are refused, and a real parent's subtasks are bounded", { timeout: 180_000 }, async () => {
  await withCoordinator({ maxTasksPerPage: 50, maxTaskBytes: 1024 * 1024 }, async (c) => {
    const evil = await RawPage.join(c, 1);
    const grid = await connect({ url: c.url, token: c.token });
    let workers: LocalWorkers | undefined;
    try {
      const tasks = await grid.module<typeof Tasks>(fixture('tasks.ts'));
      const xs = Array.from({ length: 20 }, (_, i) => i + 1);
      const results = grid.map(tasks.square, xs);
      const [held] = await when(evil.ws, () => (evil.tasks.length > 0 ? evil.tasks : undefined), "a task of the victim's");
      evil.report({ started: [held.id] });

      // 10,000 subtasks with the victim's scope, under a parent the page never held.
      const fake = (id: number, under: ReleasedTask['under']): ReleasedTask => ({ id, bundle: held.bundle, fn: held.fn, args: held.args, scope: held.scope, under });
      evil.report({ submit: Array.from({ length: 10_000 }, (_, i) => fake(i + 1, { task: 999_999 })) });
      const refused = await when(evil.ws, () => (evil.results.length >= 10_000 ? evil.results : undefined), 'the refusals');
      assert.equal(refused.length, 10_000);
      for (const r of refused) assert.ok(!r.ok && r.error.name === 'RefusedError' && /not a task this page is running/.test(r.error.message), JSON.stringify(r));
      // Nor under a peer's subtask it was never lent.
      evil.report({ submit: [fake(20_001, { from: 'some-page', id: 1 })] });
      await when(evil.ws, () => (evil.results.length > 10_000 ? true : undefined), 'the refusal of a made-up peer parent');
      let s = await statsUntil({ url: c.url, adminToken: c.adminToken }, (x) => x.jobs.length === 1);
      assert.equal(s.jobs[0].submitted, 20, "nothing reached the victim's job");
      assert.equal(s.queued + s.running, 20, 'nothing was queued');

      // Under the task it does run, it may add subtasks to that tree, up to its bound.
      evil.report({ submit: Array.from({ length: 10_000 }, (_, i) => fake(30_001 + i, { task: held.id })) });
      await when(evil.ws, () => (evil.results.length >= 10_001 + 9_950 ? true : undefined), 'the refusals past the bound');
      const overBound = evil.results.slice(10_001);
      assert.equal(overBound.length, 9_950, 'all but 50 refused');
      assert.ok(overBound.every((r) => !r.ok && /50 unfinished subtasks/.test(r.error.message)));
      s = await statsUntil({ url: c.url, adminToken: c.adminToken }, (x) => x.queued + x.running === 70);
      assert.equal(s.jobs[0].submitted, 20, "subtasks are the page's, not the client's");
      // Nor with arguments over the task limit, which a client could not send either.
      evil.report({ submit: [{ ...fake(50_001, { task: held.id }), args: new Uint8Array(1024 * 1024 + 1) }] });
      const [big] = await when(evil.ws, () => (evil.results.length > 10_001 + 9_950 ? evil.results.slice(10_001 + 9_950) : undefined), 'the refusal of a subtask over the task limit');
      assert.ok(!big.ok && big.kind === 'tooLarge' && /arguments of square are \d+ bytes packed; a task may carry at most 1048576/.test(big.error.message), JSON.stringify(big));

      // The page leaves; an honest page finishes the job: the victim's session and results are intact.
      evil.ws.terminate();
      workers = await launchWorkers({ url: c.url, browser: await testBrowser(), count: 1, threads: 2 });
      assert.deepEqual(await results, xs.map((x) => x * x));
      assert.equal(await grid.submit(tasks.square, 12), 144, 'the session still works');
      s = await statsUntil({ url: c.url, adminToken: c.adminToken }, (x) => x.jobs[0]?.done === 21);
      assert.equal(s.jobs[0].failed, 0);
    } finally {
      await grid.close();
      await workers?.close();
    }
  });
});

test('a page that hoards tasks (claims 1024 threads, starts and spawns, never finishes) does not stall a job', { timeout: 180_000 }, async () => {
  await withCoordinator({ spawnedBackupMs: 1000 }, async (c) => {
    const hoarder = await RawPage.join(c, 1024, (page, msg) => {
      if (msg.t !== 'tasks') return;
      const ids = msg.tasks.map((t) => t.id);
      page.report({ started: ids, spawning: ids });
    });
    const grid = await connect({ url: c.url, token: c.token });
    let workers: LocalWorkers | undefined;
    try {
      const tasks = await grid.module<typeof Tasks>(fixture('tasks.ts'));
      const xs = Array.from({ length: 200 }, (_, i) => i);
      const results = grid.map(tasks.square, xs);
      // Alone on the grid, it gets what a new page may hold, not 1024 tasks.
      await statsUntil({ url: c.url, adminToken: c.adminToken }, (x) => x.running > 0 && x.queued + x.running === 200);
      const alone = await statsUntil({ url: c.url, adminToken: c.adminToken }, (x) => x.running > 0);
      assert.equal(alone.running, 32, 'a new page holds at most 32 tasks, whatever it claims');
      assert.equal(hoarder.tasks.length, 32);
      workers = await launchWorkers({ url: c.url, browser: await testBrowser(), count: 1, threads: 2 });
      assert.deepEqual(await results, xs.map((x) => x * x), 'every task completed');
      const s = await statsUntil({ url: c.url, adminToken: c.adminToken }, (x) => x.jobs[0]?.done === 200);
      assert.equal(s.jobs[0].failed, 0);
      assert.equal(s.perWorker.find((w) => w.userAgent === 'raw test page')?.tasksDone, 0, 'the hoarder finished nothing');
    } finally {
      await grid.close();
      await workers?.close();
      hoarder.ws.close();
    }
  });
});
