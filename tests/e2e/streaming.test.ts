// A generator streams through the grid, in order. Its bounded memory at a
// million items is a figure of `npm run bench -- memory` (SDK and coordinator
// peak RSS at 100k and 1M items), not a test: it takes a minute.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { startTestGrid } from '../helpers/grid.ts';

test('map over a generator of 5,000 items, 500 in flight: all in order, from an SDK in its own process', { timeout: 120_000 }, async () => {
  const g = await startTestGrid({ pages: 1, threads: 2 });
  try {
    const script = fileURLToPath(new URL('../fixtures/stream-client.ts', import.meta.url));
    const tsx = fileURLToPath(new URL('../../node_modules/tsx/dist/cli.mjs', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, [tsx, script, '5000', '500'], {
      env: { ...process.env, LADLE_URL: g.coordinator.url, LADLE_TOKEN: g.coordinator.token },
      maxBuffer: 1024 * 1024,
    });
    const report = JSON.parse(stdout.trim().split('\n').pop()!) as { count: number; inOrder: boolean; peakRssMB: number };
    assert.equal(report.count, 5_000);
    assert.equal(report.inOrder, true);
  } finally {
    await g.close();
  }
});
