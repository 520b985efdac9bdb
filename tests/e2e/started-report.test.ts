// When a page reports its tasks started, on a real grid (real coordinator,
// real Chromium page). A task of a function the page has timed as quick arms
// no timer for its "started" (its result carries the news, sparing a lone
// round trip a message to the clock's thread); one such call that runs long
// must still show running() before it ends.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestGrid, fixture, type TestGrid } from '../helpers/grid.ts';
import { until } from '../helpers/futures.ts';
import type * as Scoop from '../fixtures/scoop.ts';

let g: TestGrid;
let tasks: Awaited<ReturnType<typeof loadTasks>>;
const loadTasks = () => g.grid.module<typeof Scoop>(fixture('scoop.ts'));

before(async () => {
  // Frequent pings: the page sends what it has to report with its answer to one.
  g = await startTestGrid({ pages: 1, threads: 2, coordinator: { heartbeatMs: 250 } });
  tasks = await loadTasks();
});
after(async () => {
  await g?.close();
});

test('a call of a function the page has timed as quick shows running() while it runs long', { timeout: 60_000 }, async () => {
  // Timed quick: the first call (with the module's loading) weighs a tenth, then less with each call.
  for (let i = 0; i < 50; i++) await g.grid.submit(tasks.spin, 0);
  const f = g.grid.submit(tasks.spin, 2000);
  await until(() => f.running() || f.done(), 'the task runs');
  assert.equal(f.running(), true, 'running before its result arrived');
  assert.equal(f.done(), false);
  assert.ok((await f.result()) > 0);
});
