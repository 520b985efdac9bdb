// `npm test`: typecheck, lint and build side by side, then the unit tests and the
// end-to-end tests side by side. Unit test files are light (no browser, no
// sockets to speak of) and their cost is mostly each file's start-up, so they
// run next to the e2e files instead of after them; e2e files stay one at a
// time, as each drives browsers that would otherwise compete for the cores.
// Extra arguments go to both test runners (e.g. --test-reporter=spec).
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

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

// 1. Typecheck, lint and build: a failure of any stops here.
const steps = await Promise.all([run([tsc, '--noEmit'], true), run([eslint, '.'], true), run([tsx, 'scripts/build.ts'], true)]);
for (const s of steps) process.stdout.write(s.output);
if (steps.some((s) => s.code !== 0)) process.exit(1);

// 2. Tests: e2e output as it comes, unit output once its run ends.
const [e2e, unit] = await Promise.all([
  run([tsx, '--test', '--test-concurrency=1', ...extra, ...files('tests/e2e')]),
  run([tsx, '--test', '--test-concurrency=1', ...extra, ...files('tests/unit')], true),
]);
process.stdout.write(`\n---- unit tests ----\n${unit.output}`);
process.exit(e2e.code !== 0 || unit.code !== 0 ? 1 : 0);
