// `npm run demo` against a real grid: a Monte Carlo estimate of pi from
// tasks run in two Chromium pages, as a user runs it (a separate process).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startTestGrid } from '../helpers/grid.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

function runDemo(args: string[], env: Record<string, string | undefined>): Promise<{ code: number | null; out: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'demo/monte-carlo.ts', ...args], {
    cwd: root,
    env: { ...process.env, LADLE_URL: undefined, LADLE_TOKEN: undefined, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => proc.once('exit', (code) => resolve({ code, out })));
}

test('the demo estimates pi on the grid and says how many browsers took part', { timeout: 120_000 }, async () => {
  const g = await startTestGrid({ pages: 2, threads: 1 });
  try {
    const { code, out } = await runDemo(['--tasks', '60', '--samples', '200000'], { LADLE_URL: g.coordinator.url, LADLE_TOKEN: g.coordinator.token });
    assert.equal(code, 0, out);
    const [, estimate] = out.match(/pi ≈ (\d\.\d+)/) ?? [];
    assert.ok(Math.abs(Number(estimate) - Math.PI) < 0.01, out);
    assert.match(out, /60 tasks in [\d.]+ s: [\d.]+ tasks\/s/);
    assert.match(out, /2 browsers took part, with 2 Web Workers between them/);
    const admin = { authorization: `Bearer ${g.coordinator.adminToken}` };
    const stats = (await (await fetch(`${g.coordinator.url}/api/stats`, { headers: admin })).json()) as { completed: number; jobs: { submitted: number; done: number }[] };
    assert.equal(stats.completed, 60);
    assert.deepEqual(stats.jobs.map((j) => [j.submitted, j.done]), [[60, 60]]);
  } finally {
    await g.close();
  }
});

test('the demo without a token says where to get one', { timeout: 30_000 }, async () => {
  const { code, out } = await runDemo([], {});
  assert.equal(code, 2);
  assert.match(out, /LADLE_TOKEN is not set/);
  assert.match(out, /npm start/);
});
