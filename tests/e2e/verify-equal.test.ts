// Verification with the task module's own comparison (`verify: { replicas, equal }`):
// the coordinator asks the submitting client, which runs `equal` in its own process.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startTestGrid, fixture, type TestGrid } from '../helpers/grid.ts';
import { fetchStats } from '../helpers/cli.ts';
import { LadleError, VerificationError } from '../../client-sdk/index.ts';

let g: TestGrid;
before(async () => {
  g = await startTestGrid({ pages: 3, threads: 1 });
});
after(() => g.close());

const stats = () => fetchStats({ url: g.coordinator.url, adminToken: g.coordinator.adminToken });

test('results whose bytes differ are accepted when the module says they agree; no page record moves', async () => {
  const tasks = await g.grid.module<typeof import('../fixtures/verify-equal.ts')>(fixture('verify-equal.ts'));
  const xs = Array.from({ length: 20 }, (_, i) => i + 1);
  const ys = await g.grid.map(tasks.noisySquare.with({ verify: { replicas: 2, equal: tasks.close } }), xs, { chunkSize: 1 });
  ys.forEach((y, i) => assert.ok(Math.abs(y - xs[i] ** 2) < 1e-9, `result ${i} is ${y}`));
  const s = await stats();
  assert.equal(s.verify.tasks, 20);
  assert.equal(s.verify.failed, 0);
  // The client's word decides its task, never the pages' records.
  for (const w of s.perWorker) assert.equal(w.trust.checked, 0);
  // Without the comparison, the same results never agree.
  await assert.rejects(g.grid.submit(tasks.noisySquare.with({ verify: 2 }), 3).result(), VerificationError);
});

test('a comparison that throws counts as disagreement: the task fails with VerificationError', async () => {
  const tasks = await g.grid.module<typeof import('../fixtures/verify-equal.ts')>(fixture('verify-equal.ts'));
  const error = await g.grid
    .submit(tasks.anything.with({ verify: { replicas: 2, equal: tasks.broken } }))
    .result()
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  assert.ok(error instanceof VerificationError, String(error));
  assert.equal(error.runs, 3);
  assert.equal(error.distinct, 3);
});

test('equal must be an export of the same module, and replicas a valid verify', async () => {
  const tasks = await g.grid.module<typeof import('../fixtures/verify-equal.ts')>(fixture('verify-equal.ts'));
  const other = g.grid.fn((a: number, b: number) => a === b);
  assert.throws(() => tasks.noisySquare.with({ verify: { replicas: 2, equal: other } }), (e) => e instanceof LadleError && /same task module/.test(e.message));
  assert.throws(() => tasks.noisySquare.with({ verify: { replicas: 1, equal: tasks.close } }), (e) => e instanceof LadleError && e.code === 'ERR_INVALID_OPTION');
  // @ts-expect-error equal is a handle, not a function
  assert.throws(() => tasks.noisySquare.with({ verify: { replicas: 2, equal: (a: number, b: number) => a === b } }), /same task module/);
});
