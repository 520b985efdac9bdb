// `npm test`: typecheck, lint and build side by side, then the unit tests and the
// end-to-end tests side by side. Unit test files are light (no browser, no
// sockets to speak of) and their cost is mostly each file's start-up, so they
// run next to the e2e files instead of after them. E2e files run two at a
// time (LADLE_E2E_CONCURRENCY to change it): most of their time is spent
// waiting on browsers, sockets and deadlines rather than computing, and each
// file has its own coordinator and port. The longest files start first so
// that no long file is left running alone at the end. The e2e files share one
// Chromium, launched here as a Playwright browser server, for the pages they
// open without browser flags of their own.
// Extra arguments go to both test runners (e.g. --test-reporter=spec).
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { startSharedBrowserServer } from '../tests/helpers/shared-browser.ts';

const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');
const tsx = require.resolve('tsx/cli');
const eslint = join(dirname(require.resolve('eslint/package.json')), 'bin/eslint.js');
const extra = process.argv.slice(2);

/** Runs a command; resolves with its exit code and, when `quiet`, its output. */
function run(args: string[], quiet = false): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit' });
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

const files = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.test.ts'))
    .sort()
    .map((f) => `${dir}/${f}`);

/** E2e files over 30 s on a quiet 2-core machine, longest first; the rest follow by name. */
const LONG_E2E = ['peer-offload', 'site', 'page-identity', 'faults', 'durable-coordinator', 'verify', 'verify-addresses', 'package'];
const e2eFiles = () => {
  const all = files('tests/e2e');
  const long = LONG_E2E.map((name) => `tests/e2e/${name}.test.ts`).filter((f) => all.includes(f));
  return [...long, ...all.filter((f) => !long.includes(f))];
};
const concurrency = Number(process.env.LADLE_E2E_CONCURRENCY ?? 2);
if (!Number.isInteger(concurrency) || concurrency < 1) {
  console.error(`LADLE_E2E_CONCURRENCY must be a whole number of at least 1, not ${JSON.stringify(process.env.LADLE_E2E_CONCURRENCY)}`);
  process.exit(2);
}

// 1. Typecheck, lint and build: a failure of any stops here.
const steps = await Promise.all([run([tsc, '--noEmit'], true), run([eslint, '.'], true), run([tsx, 'scripts/build.ts'], true)]);
for (const s of steps) process.stdout.write(s.output);
if (steps.some((s) => s.code !== 0)) process.exit(1);

// 2. One browser for all e2e files. Pages still get contexts of their own;
// files that kill, freeze or flag a browser launch theirs.
const server = await startSharedBrowserServer();

// 3. Tests: e2e output as it comes, unit output once its run ends.
const [e2e, unit] = await Promise.all([
  run([tsx, '--test', `--test-concurrency=${concurrency}`, ...extra, ...e2eFiles()]),
  run([tsx, '--test', '--test-concurrency=1', ...extra, ...files('tests/unit')], true),
]);
await server.close();
process.stdout.write(`\n---- unit tests ----\n${unit.output}`);
process.exit(e2e.code !== 0 || unit.code !== 0 ? 1 : 0);
