// A million-item generator streams through the grid in bounded memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { startTestGrid } from '../helpers/grid.ts';

test('map over a generator of 1,000,000 items: all in order, SDK peak RSS under 300 MB', { timeout: 600_000 }, async () => {
  const g = await startTestGrid({ pages: 1, threads: 2 });
  try {
    const script = fileURLToPath(new URL('../fixtures/stream-million.ts', import.meta.url));
    const tsx = fileURLToPath(new URL('../../node_modules/tsx/dist/cli.mjs', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, [tsx, script, '1000000'], {
      env: { ...process.env, LADLE_URL: g.coordinator.url, LADLE_TOKEN: g.coordinator.token },
      maxBuffer: 1024 * 1024,
    });
    const report = JSON.parse(stdout.trim().split('\n').pop()!) as { count: number; inOrder: boolean; peakRssMB: number };
    assert.equal(report.count, 1_000_000);
    assert.equal(report.inOrder, true);
    assert.ok(report.peakRssMB < 300, `SDK peak RSS was ${report.peakRssMB.toFixed(0)} MB`);
  } finally {
    await g.close();
  }
});
