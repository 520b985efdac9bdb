// A room's grid: several clients on one page share its threads fairly.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestGrid, fixture, type TestGrid } from '../helpers/grid.ts';
import { until } from '../helpers/futures.ts';
import { connect, type Grid, type ModuleHandles } from '../../client-sdk/index.ts';
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
