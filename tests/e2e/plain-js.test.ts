// A plain JavaScript program imports the package by name (`ladle-grid`, built to
// dist/sdk.js) and runs a task on a real grid.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { startTestGrid } from '../helpers/grid.ts';

test('import { connect } from "ladle-grid" works from plain JavaScript', { timeout: 90_000 }, async () => {
  const g = await startTestGrid({ pages: 1, threads: 1 });
  try {
    const script = fileURLToPath(new URL('../fixtures/plain-client.mjs', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, [script], {
      env: { ...process.env, LADLE_URL: g.coordinator.url, LADLE_TOKEN: g.coordinator.token },
    });
    assert.equal(stdout.trim(), '144 [1,4,9]');
  } finally {
    await g.close();
  }
});
