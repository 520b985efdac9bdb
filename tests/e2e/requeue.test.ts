// A page that leaves mid-job: the coordinator requeues what it held and the
// job still completes with every result, each delivered once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestGrid, fixture } from '../helpers/grid.ts';
import { statsUntil } from '../helpers/cli.ts';
import type * as Tasks from '../fixtures/tasks.ts';

test('closing a page mid-map requeues its tasks on the other page', { timeout: 90_000 }, async () => {
  const g = await startTestGrid({ pages: 2, threads: 2 });
  try {
    const tasks = await g.grid.module<typeof Tasks>(fixture('tasks.ts'));
    const n = 60;
    const futures = Array.from({ length: n }, (_, i) => g.grid.submit(tasks.sleepThen, 50, i));
    // Close the second page as soon as it has finished a task of this job.
    const victim = g.workers.pages[1];
    await victim.waitForFunction(() => (globalThis as unknown as { ladle: { status: { tasksDone: number } } }).ladle.status.tasksDone >= 1);
    await victim.close();
    const results = await Promise.all(futures.map((f) => f.result()));
    assert.deepEqual(results, Array.from({ length: n }, (_, i) => i));
    const stats = await statsUntil(g.coordinator.url, (s) => s.workers === 1);
    assert.equal(stats.completed, n, 'each task completed once');
    assert.equal(stats.failed, 0);
  } finally {
    await g.close();
  }
});
