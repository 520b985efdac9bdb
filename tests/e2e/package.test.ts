// The published package as a new user meets it: `npm pack` this checkout,
// install the tarball into an empty project by the README's quick start, and
// use it from there: types in a strict NodeNext project, require() from
// CommonJS, the `ladle` bin with plain Node, and the quick start's program on
// a real coordinator (the installed one) with a real headless Chromium page.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchWorkers } from '../../cli/workers.ts';
import { runLadle } from '../helpers/cli.ts';
import { testBrowser } from '../helpers/grid.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));

/** The environment of a shell in a fresh terminal: nothing from an `npm test`
 * that runs this file (npm_* settings, this checkout's node_modules/.bin). */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^npm_/i.test(k) && k !== 'INIT_CWD') env[k] = v;
  }
  env.PATH = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((p) => !p.includes('node_modules'))
    .join(delimiter);
  return { ...env, ...extra };
}

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end, in a process group of its own (npx and tsx start
 * children), which is killed whole if it outlives `timeoutMs`. */
function run(cmd: string, args: string[], cwd: string, env = userEnv(), timeoutMs = 300_000): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const proc = spawn(cmd, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      process.kill(-proc.pid!, 'SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')} ran over ${timeoutMs} ms:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    proc.once('error', reject);
    proc.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function ok(cmd: string, args: string[], cwd: string, env?: NodeJS.ProcessEnv): Promise<string> {
  const r = await run(cmd, args, cwd, env);
  assert.equal(r.code, 0, `${cmd} ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** The README's quick start: its shell lines and its files, as a user pastes them. */
async function quickStart(): Promise<{ shell: string[]; files: Map<string, string> }> {
  const readme = await readFile(join(repo, 'README.md'), 'utf8');
  const start = readme.indexOf('## Quick start');
  assert.ok(start >= 0, 'README has a Quick start section');
  const section = readme.slice(start, readme.indexOf('\n## ', start));
  const blocks = [...section.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map(([, lang, code]) => ({ lang, code }));
  const shell = blocks.filter((b) => b.lang === 'sh').flatMap((b) => b.code.trim().split('\n'));
  const files = new Map<string, string>();
  for (const b of blocks.filter((b) => b.lang === 'ts')) {
    const name = /^\/\/ (\S+)\n/.exec(b.code)?.[1];
    assert.ok(name, `a quick-start code block names its file on its first line:\n${b.code}`);
    files.set(name, b.code);
  }
  return { shell, files };
}

let root: string;
let project: string;
let tarball: string;
let steps: Awaited<ReturnType<typeof quickStart>>;

// Packing and installing resolve the dependencies: once, for every test below.
before(
  async () => {
    root = await mkdtemp(join(tmpdir(), 'ladle-package-'));
    project = join(root, 'my-grid');
    await mkdir(project);
    steps = await quickStart();
    // `npm test` has just built dist/; packing without prepack keeps it in place
    // for the test files that run beside this one (prepack deletes it first).
    if (!existsSync(join(repo, 'dist/sdk.js'))) await ok('npm', ['run', 'build'], repo);
    await ok('npm', ['pack', '--ignore-scripts', '--pack-destination', root], repo);
    tarball = join(root, 'ladle-grid-' + (JSON.parse(await readFile(join(repo, 'package.json'), 'utf8')) as { version: string }).version + '.tgz');

    // The quick start's npm lines, the package name standing for the tarball.
    const npmLines = steps.shell.filter((l) => l.startsWith('npm '));
    assert.deepEqual(npmLines, ['npm init -y', 'npm pkg set type=module', 'npm install ladle-grid', 'npm install -D tsx']);
    for (const line of npmLines) {
      const args = line.split(' ').slice(1).map((a) => (a === 'ladle-grid' ? tarball : a));
      if (args[0] === 'install') args.push('--prefer-offline', '--no-audit', '--no-fund');
      await ok('npm', args, project);
    }
    for (const [name, code] of steps.files) await writeFile(join(project, name), code);
  },
  { timeout: 900_000 },
);

after(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

test('npm pack ships built JavaScript and .d.ts for both entry points, and no sources, tests, bench or CI', async () => {
  const listing = await ok('tar', ['-tzf', tarball], root);
  const files = listing
    .trim()
    .split('\n')
    .map((f) => f.replace(/^package\//, ''));
  const pkg = JSON.parse(await readFile(join(repo, 'package.json'), 'utf8')) as { exports: Record<string, string | Record<string, string>> };
  const targets = Object.values(pkg.exports).flatMap((t) => (typeof t === 'string' ? [t] : Object.values(t)));
  for (const target of targets) assert.ok(files.includes(target.replace(/^\.\//, '')), `exports target ${target} is in the tarball`);
  for (const f of ['bin/ladle.js', 'dist/sdk.js', 'dist/task.js', 'dist/cli.js', 'dist/site/join.js', 'dist/site/worker.js', 'dist/site/index.html']) {
    assert.ok(files.includes(f), `${f} is in the tarball`);
  }
  for (const f of files) {
    assert.doesNotMatch(f, /^(tests|bench|\.ci|scripts)\//, `${f} does not belong in the package`);
    if (f.endsWith('.ts')) assert.ok(f.endsWith('.d.ts'), `${f}: only declaration files, no TypeScript sources`);
  }
});

test('a strict NodeNext TypeScript project typechecks against the installed package with 0 errors', async () => {
  // Beyond the quick start: both entry points, and a wrong call the types must catch.
  await writeFile(
    join(project, 'more.ts'),
    `import { connect, Future, RemoteError, TimeoutError, type Grid } from 'ladle-grid';
import { map, submit, shared } from 'ladle-grid/task';

export async function fib(n: number): Promise<number> {
  if (n < 2) return n;
  const [a, b] = await map(fib, [n - 1, n - 2]);
  return a + b;
}
export const later = (n: number): Future<number> => submit(fib, n);
export const scale = (): unknown => shared.get('scale');

export async function use(grid: Grid): Promise<number> {
  const double = grid.fn((x: number) => x * 2);
  // @ts-expect-error a string is not a number: the types are real, not any
  grid.submit(double, 'two');
  try {
    return await grid.submit(double, 2).result({ timeout: 1000 });
  } catch (e) {
    if (e instanceof RemoteError || e instanceof TimeoutError) return -1;
    throw e;
  }
}
export { connect };
`,
  );
  await writeFile(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { strict: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', noEmit: true, skipLibCheck: false },
      files: [...steps.files.keys(), 'more.ts'],
    }),
  );
  const tsc = join(repo, 'node_modules/typescript/bin/tsc');
  const r = await run(process.execPath, [tsc, '-p', join(project, 'tsconfig.json')], project);
  assert.equal(r.stdout + r.stderr, '', 'no TypeScript errors');
  assert.equal(r.code, 0);
});

test('require() from CommonJS and import from ESM load the installed package', async () => {
  await writeFile(join(project, 'check.cjs'), `const sdk = require('ladle-grid');\nconsole.log(typeof sdk.connect, typeof sdk.Future);\n`);
  assert.equal((await ok(process.execPath, ['check.cjs'], project)).trim(), 'function function');
  const esm = `import { connect } from 'ladle-grid'; import { submit } from 'ladle-grid/task'; console.log(typeof connect, typeof submit);`;
  assert.equal((await ok(process.execPath, ['--input-type=module', '-e', esm], project)).trim(), 'function function');
});

test('ladle workers and ladle start without playwright-core say how to get it, and that a coordinator alone does not need it', async () => {
  const commands = [
    ['ladle', 'workers', '--url', 'http://127.0.0.1:9'],
    ['ladle-grid', 'workers', '--url', 'http://127.0.0.1:9'],
    ['ladle', 'start', '--host', '127.0.0.1', '--port', '0'],
  ];
  for (const [bin, ...args] of commands) {
    const r = await run(process.execPath, [join(project, 'node_modules/.bin', bin), ...args], project);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /playwright-core, which is not installed/);
    assert.match(r.stderr, /npm install playwright-core/);
    assert.match(r.stderr, /--local-workers 0/);
    // `start` says so before its coordinator comes up, not after.
    assert.doesNotMatch(r.stdout, /coordinator is up/);
  }
});

test('the README quick start, as pasted, prints its results from a real coordinator and Chromium page', { timeout: 300_000 }, async () => {
  const coordinatorLine = steps.shell.find((l) => l.startsWith('npx ladle coordinator'));
  const mainLine = steps.shell.find((l) => / npx tsx main\.ts$/.test(l));
  assert.ok(coordinatorLine && mainLine, `the quick start starts a coordinator and runs main.ts:\n${steps.shell.join('\n')}`);

  // The installed bin, with plain Node (no tsx in its path); port 0, as 8080 may be taken here.
  const args = coordinatorLine.split(' ').slice(2);
  const coordinator = runLadle([...args, '--port', '0'], { bin: join(project, 'node_modules/.bin/ladle'), cwd: project, env: userEnv() });
  try {
    const [, url] = await coordinator.waitFor(/LADLE_URL=(http:\/\/127\.0\.0\.1:\d+)/, 60_000);
    // A real page, served the package's prebuilt site.
    const workers = await launchWorkers({ url, browser: await testBrowser(), count: 1, threads: 1 });
    try {
      const assignments = Object.fromEntries([...mainLine.matchAll(/(\w+)=(\S+) /g)].map(([, k, v]) => [k, v]));
      const command = mainLine.slice(mainLine.indexOf('npx ')).split(' ');
      const r = await run(command[0], command.slice(1), project, userEnv({ ...assignments, LADLE_URL: url }));
      assert.equal(r.code, 0, r.stderr);
      // What main.ts's comments say each console.log prints.
      const expected = [...steps.files.get('main.ts')!.matchAll(/^console\.log\(.*;\s*\/\/ (.+)$/gm)].map(([, out]) => out.trim());
      assert.deepEqual(expected, ['144', '[ 1, 4, 9 ]', '42']);
      assert.deepEqual(r.stdout.trim().split('\n'), expected);
    } finally {
      await workers.close();
    }
  } finally {
    await coordinator.stop();
  }
});
