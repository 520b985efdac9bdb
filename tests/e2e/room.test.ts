// A room's grid: several clients on one page share its threads fairly.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestGrid, fixture, type TestGrid } from '../helpers/grid.ts';
import { until } from '../helpers/futures.ts';
import { statsUntil } from '../helpers/cli.ts';
import { connect, ErrorCode, type Grid, type LadleError, type ModuleHandles } from '../../client-sdk/index.ts';
import type * as Room from '../fixtures/room.ts';

let g: TestGrid;
let tasks: ModuleHandles<typeof Room>;
before(async () => {
  g = await startTestGrid({ pages: 1, threads: 2 });
  tasks = await g.grid.module<typeof Room>(fixture('room.ts'));
});
after(() => g.close());

async function second(): Promise<Grid> {
  return connect({ url: g.coordinator.url, token: g.coordinator.token });
}

test("a small job beside a big one finishes on its share of the threads, not after the big one", { timeout: 60_000 }, async () => {
  const big = 120;
  let bigDone = 0;
  const bigFutures = Array.from({ length: big }, (_, i) => g.grid.submit(tasks.spin, 40, i));
  for (const f of bigFutures) f.addDoneCallback(() => bigDone++);
  // The page holds its threads' worth and its prefetch of the big job.
  await until(() => bigDone >= 4, 'the big job is under way');
  const student = await second();
  try {
    const small = await student.module<typeof Room>(fixture('room.ts'));
    const results = await student.map(small.spin, Array(10).fill(40), Array.from({ length: 10 }, (_, i) => i));
    const bigDoneWhenSmallEnded = bigDone;
    assert.deepEqual(results, Array.from({ length: 10 }, (_, i) => i));
    // First come, first served would end the small job after all 120 big tasks;
    // half the threads end it after about ten more of them.
    assert.ok(bigDoneWhenSmallEnded < big / 2, `the small job ended after ${bigDoneWhenSmallEnded} of the big job's ${big} tasks`);
  } finally {
    await student.close();
  }
  assert.equal((await Promise.all(bigFutures)).length, big, 'the big job completes too');
});

test('jobs are named by connect and by map, with their progress on the stats the dashboard reads', { timeout: 60_000 }, async () => {
  const student = await connect({ url: g.coordinator.url, token: g.coordinator.token, name: 'lab 3: alice' });
  try {
    const t = await student.module<typeof Room>(fixture('room.ts'));
    assert.equal(await student.submit(t.spin, 1, 7), 7);
    assert.deepEqual(await student.map(t.spin, [1, 1, 1], [1, 2, 3], { name: 'lab 3: pi', priority: 3 }), [1, 2, 3]);
    assert.deepEqual(await student.map(t.spin, [1], [4], { name: 'lab 3: pi' }), [4], 'the same name is the same job');
    const stats = await statsUntil({ url: g.coordinator.url, adminToken: g.coordinator.adminToken }, (s) => s.jobs.some((j) => j.name === 'lab 3: pi' && j.done === 4));
    const mine = stats.jobs.filter((j) => j.name.startsWith('lab 3'));
    assert.deepEqual(
      mine.map((j) => [j.name, j.priority, j.expected, j.submitted, j.done, j.active]),
      [
        ['lab 3: alice', 1, 1, 1, 1, true],
        ['lab 3: pi', 3, 4, 4, 4, true],
      ],
    );
    // Bad names and priorities are refused before anything is sent.
    assert.throws(() => student.map(t.spin, [1], [1], { name: '' }), (e: LadleError) => e.code === ErrorCode.INVALID_OPTION && /name is text/.test(e.message));
    assert.throws(() => student.map(t.spin, [1], [1], { name: 'a\u0007b' }), (e: LadleError) => e.code === ErrorCode.INVALID_OPTION);
    assert.throws(() => student.mapAsCompleted(t.spin, [1], [1], { priority: 0 }), (e: LadleError) => e.code === ErrorCode.INVALID_OPTION && /priority/.test(e.message));
    await assert.rejects(connect({ url: g.coordinator.url, token: g.coordinator.token, name: 'x'.repeat(101) }), (e: LadleError) => e.code === ErrorCode.INVALID_OPTION);
    assert.equal(await student.submit(t.spin, 1, 8), 8, 'the session goes on');
  } finally {
    await student.close();
  }
  const after = await statsUntil({ url: g.coordinator.url, adminToken: g.coordinator.adminToken }, (s) => s.jobs.filter((j) => j.name.startsWith('lab 3')).every((j) => !j.active));
  assert.ok(after.jobs.some((j) => j.name === 'lab 3: pi'), 'an ended job stays on show');
});
