// A private grid: named submit tokens and a join token, in real Chromium.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCoordinator } from '../../coordinator/coordinator.ts';
import { launchWorkers } from '../../cli/workers.ts';
import { connect, ConnectionError } from '../../client-sdk/index.ts';
import { statsUntil } from '../helpers/cli.ts';
import { testBrowser } from '../helpers/grid.ts';

test('pages need the join token; each student submits with their own named token', { timeout: 90_000 }, async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'ladle-private-'));
  const c = await startCoordinator({ host: '127.0.0.1', port: 0, dataDir, tokens: { alice: 'alice-token-1', bob: 'bob-token-22' }, joinToken: 'join-secret-7' });
  try {
    assert.equal(c.token, '', 'no anonymous token when named tokens are given');
    // Without the join token a page is refused and never counted.
    const outsider = await (await testBrowser()).newContext();
    const page = await outsider.newPage();
    const refused = new Promise<string>((resolve) => page.on('console', (m) => m.text().includes('refused') && resolve(m.text())));
    await page.goto(`${c.url}/?threads=1`);
    assert.match(await refused, /invalid join token/);
    assert.equal((await statsUntil(c.url, () => true)).workers, 0);
    await outsider.close();

    const insider = await launchWorkers({ url: `${c.url}/?join=join-secret-7`, browser: await testBrowser(), count: 1, threads: 1 });
    try {
      await statsUntil(c.url, (s) => s.workers === 1);
      for (const token of ['alice-token-1', 'bob-token-22']) {
        const grid = await connect({ url: c.url, token });
        assert.equal(await grid.submit(grid.fn((x: number) => x * 2), 21), 42);
        await grid.close();
      }
      await assert.rejects(connect({ url: c.url, token: 'carol-token-3' }), ConnectionError);
    } finally {
      await insider.close();
    }
  } finally {
    await c.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});
