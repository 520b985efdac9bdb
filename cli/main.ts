// The `ladle` command: coordinator, workers, and start (both at once).
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { startCoordinator, type Coordinator } from '../coordinator/coordinator.ts';
import { parseTokens, readTokensFile } from '../coordinator/auth.ts';
import { parseIceServers, type IceServer } from '../coordinator/peer-server.ts';
import { parseOrigins } from '../coordinator/origin-check.ts';
import { launchWorkers, joinUrl, type LocalWorkers } from './workers.ts';
import { loadPlaywright } from './chromium.ts';
import { coordinatorBanner } from './banner.ts';
import { joinUrls } from '../coordinator/join-urls.ts';
import { MAX_TASK_BYTES_CEILING, verifyError, type VerifyOption } from '../protocol/limits.ts';
import { StoreError } from '../coordinator/store/store.ts';

const USAGE = `usage:
  ladle coordinator [--host 0.0.0.0] [--port 8080] [--token T] [--tokens FILE]
                    [--join-token J] [--admin-token A] [--allowed-origins O]
                    [--data DIR | --no-data] [--drain-timeout S] [--ice-servers S]
                    [--no-offload] [--max-task-bytes N] [--tls-cert F --tls-key F]
                    [--verify off|adaptive|N]
  ladle workers --url http://HOST:PORT [--count 1] [--threads N] [--webgpu]
  ladle start [--local-workers 1] [--threads N] [--webgpu] [coordinator options]

  coordinator   serve the grid: volunteers join by opening its URL
  workers       open headless Chromium pages that join a grid
  start         a coordinator plus local headless worker pages`;

const COORDINATOR_OPTIONS = `options:
  --host H          address to listen on (default 0.0.0.0: every interface, so
                    other machines on the network can join)
  --port P          port (default 8080; 0 picks a free one)
  --token T         the submit token SDK programs need (random when not given)
  --tokens FILE     named submit tokens, one name=token per line (or JSON);
                    LADLE_TOKENS=name=token,... works too
  --join-token J    a private grid: pages must open the join URL carrying J
  --admin-token A   who may see each worker and job on the dashboard and in
                    /api/stats (a submit token may too); random when not
                    given. The printed dashboard URL carries it
  --allowed-origins O
                    web origins besides the coordinator's own whose pages may
                    open its WebSockets: comma-separated, https://host[:port]
  --data DIR        a durable coordinator: DIR/ladle.db keeps queued tasks,
                    results not yet delivered, client sessions and shared
                    constants, so a restart (or a crash) on the same DIR
                    resumes them; bundles go in DIR/bundles. Needs
                    better-sqlite3 (npm install better-sqlite3@12)
  --no-data         everything in memory (the default): a restart forgets
                    all work; bundles go in .ladle/bundles
  --drain-timeout S on SIGTERM or Ctrl-C, seconds running tasks may take to
                    finish before the coordinator stops (default 30)
  --ice-servers S   STUN/TURN servers for WebRTC links between pages on
                    different networks: comma-separated URLs
                    (stun:stun.example.org:3478), or a JSON array of
                    {"urls", "username", "credential"}; none by default,
                    which serves pages on one LAN
  --no-offload      pages do not hand subtasks to each other over WebRTC;
                    subtasks move between pages through the coordinator
  --max-task-bytes N  the largest packed arguments one task may carry, and
                    the most a client's shared constants may add up to, in
                    bytes or with KiB/MiB (default 32MiB, at most 192MiB);
                    larger ones fail their own call with ERR_TOO_LARGE
  --tls-cert FILE --tls-key FILE
                    serve https and wss on the same port with this PEM
                    certificate and key: pages on other machines are then
                    secure contexts, where WebGPU works
  --verify V        how volunteers' results are checked when a task's handle
                    does not say: off (the default: the first result is the
                    answer), adaptive (each page is checked against others
                    until it has a record, then at random), or N, 2 to 9
                    distinct pages run every task and a majority must agree.
                    For a grid open to the public, use adaptive
  -h, --help        show this help`;

/** `ladle COMMAND --help`. */
const HELP = {
  coordinator: `usage: ladle coordinator [options]

Serves a grid. Volunteers join by opening its URL in any browser (no
install); SDK programs submit work with its token. On start it prints every
join URL, a QR code of the first, the dashboard URL and the token.

${COORDINATOR_OPTIONS}`,
  workers: `usage: ladle workers --url http://HOST:PORT [--count 1] [--threads N] [--webgpu]

Opens headless Chromium pages that join a grid as volunteers, and reports each
page that joined. Ctrl-C closes them (their unfinished tasks go elsewhere).

options:
  --url URL         the coordinator's address (as it printed; keep ?join=... for a private grid)
  --count N         how many pages (default 1)
  --threads N       Web Workers per page (default: one per core)
  --webgpu          enable WebGPU in the pages (--enable-unsafe-webgpu; without a GPU,
                    Chromium's software adapter, SwiftShader: correct but slow)
  -h, --help        show this help

Chromium comes from CHROMIUM_PATH, else /usr/bin/chromium, else Playwright's own.
Needs the playwright-core package (npm install playwright-core).`,
  start: `usage: ladle start [--local-workers 1] [--threads N] [--webgpu] [coordinator options]

A coordinator plus local headless worker pages, so the grid computes before
anyone joins.

  --local-workers N  headless pages to start (default 1; 0 for none)
  --threads N        Web Workers per local page (default: one per core)
  --webgpu           enable WebGPU in the local pages (as ladle workers --webgpu)
${COORDINATOR_OPTIONS}`,
} as const;

const coordinatorFlags = {
  host: { type: 'string', default: '0.0.0.0' },
  port: { type: 'string', default: '8080' },
  token: { type: 'string' },
  tokens: { type: 'string' },
  'join-token': { type: 'string' },
  'admin-token': { type: 'string' },
  'allowed-origins': { type: 'string' },
  data: { type: 'string' },
  'no-data': { type: 'boolean' },
  'drain-timeout': { type: 'string', default: '30' },
  'ice-servers': { type: 'string' },
  'no-offload': { type: 'boolean' },
  'max-task-bytes': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  verify: { type: 'string', default: 'off' },
  help: { type: 'boolean', short: 'h' },
} as const;

function fail(message: string): never {
  console.error(`ladle: ${message}`);
  process.exit(2);
}

function int(value: string, flag: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) fail(`--${flag} takes a whole number of at least ${min}, not "${value}"`);
  return n;
}

/** A size in bytes: "1048576", "512KiB" or "100MiB". */
function byteSize(value: string, flag: string): number {
  const m = /^(\d+)\s*(KiB|MiB)?$/i.exec(value.trim());
  const n = m ? Number(m[1]) * { '': 1, kib: 1024, mib: 1024 * 1024 }[(m[2] ?? '').toLowerCase() as '' | 'kib' | 'mib'] : NaN;
  if (!Number.isSafeInteger(n) || n < 1) fail(`--${flag} takes a size in bytes, e.g. 33554432 or 32MiB, not "${value}"`);
  return n;
}


/** Named submit tokens from --tokens FILE and/or LADLE_TOKENS (name=token,...). */
function namedTokens(file: string | undefined): Record<string, string> | undefined {
  try {
    const fromFile = file ? readTokensFile(file) : {};
    const fromEnv = process.env.LADLE_TOKENS ? parseTokens(process.env.LADLE_TOKENS) : {};
    const all = { ...fromEnv, ...fromFile };
    return Object.keys(all).length > 0 ? all : undefined;
  } catch (e) {
    fail(`cannot read submit tokens${file ? ` from ${file}` : ''}: ${(e as Error).message}`);
  }
}

interface CoordinatorFlags {
  host: string;
  port: string;
  token?: string;
  tokens?: string;
  'join-token'?: string;
  'admin-token'?: string;
  'allowed-origins'?: string;
  data?: string;
  'no-data'?: boolean;
  'drain-timeout': string;
  'ice-servers'?: string;
  'no-offload'?: boolean;
  'max-task-bytes'?: string;
  'tls-cert'?: string;
  'tls-key'?: string;
  verify: string;
}

function iceServers(value: string | undefined): IceServer[] | undefined {
  if (value === undefined) return undefined;
  try {
    return parseIceServers(value);
  } catch (e) {
    fail(`--ice-servers: ${(e as Error).message}`);
  }
}

function origins(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  try {
    return parseOrigins(value);
  } catch (e) {
    fail(`--allowed-origins: ${(e as Error).message}`);
  }
}

async function runCoordinator(values: CoordinatorFlags): Promise<Coordinator> {
  const port = int(values.port, 'port', 0);
  const ice = iceServers(values['ice-servers']);
  const allowedOrigins = origins(values['allowed-origins']);
  if (values['admin-token'] === '') fail('--admin-token must not be empty');
  if (values.data !== undefined && values['no-data']) fail('--data DIR keeps the grid\'s state in DIR and --no-data keeps it in memory: give one of them');
  if (values.data === '') fail('--data needs a folder, e.g. --data .ladle');
  const verify = /^\d+$/.test(values.verify) ? Number(values.verify) : values.verify;
  const badVerify = verifyError(verify);
  if (badVerify) fail(`--${badVerify}`);
  const maxTaskBytes = values['max-task-bytes'] === undefined ? undefined : byteSize(values['max-task-bytes'], 'max-task-bytes');
  if (maxTaskBytes !== undefined && maxTaskBytes > MAX_TASK_BYTES_CEILING) fail(`--max-task-bytes is at most ${MAX_TASK_BYTES_CEILING / 1024 / 1024}MiB, not ${values['max-task-bytes']}`);
  if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) fail('--tls-cert and --tls-key go together: the certificate (PEM) and its private key (PEM)');
  let tls: { cert: Buffer; key: Buffer } | undefined;
  if (values['tls-cert'] !== undefined && values['tls-key'] !== undefined) {
    const read = (flag: string, file: string) => {
      try {
        return readFileSync(file);
      } catch (e) {
        return fail(`--${flag} ${file}: ${(e as Error).message}`);
      }
    };
    tls = { cert: read('tls-cert', values['tls-cert']), key: read('tls-key', values['tls-key']) };
  }
  try {
    const c = await startCoordinator({
      tls,
      host: values.host,
      port,
      token: values.token,
      tokens: namedTokens(values.tokens),
      joinToken: values['join-token'],
      adminToken: values['admin-token'],
      allowedOrigins,
      dataDir: values.data,
      durable: values.data !== undefined,
      onStoreFailure: () => process.exit(1),
      peerOffload: !values['no-offload'],
      iceServers: ice,
      maxTaskBytes,
      verify: verify as VerifyOption,
    });
    // Join URLs, a QR code of the first, the dashboard, stats and the token.
    console.log(await coordinatorBanner({ urls: joinUrls(c), port: c.port, token: c.token, adminToken: c.adminToken, ansi: process.stdout.isTTY }));
    return c;
  } catch (e) {
    if (e instanceof StoreError) fail(`cannot start: ${e.message}`);
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE') fail(`port ${port} on ${values.host} is already in use; pick another with --port (e.g. --port ${port + 1})`);
    if (err.code === 'EACCES') fail(`not allowed to listen on port ${port}; use a port above 1023`);
    if (tls && /PEM|key|certificate|asn1/i.test(err.message)) fail(`the TLS certificate or key could not be used: ${err.message}`);
    throw e;
  }
}

function onExit(close: () => Promise<void>, drain?: () => Promise<void>, drainMs = 0): void {
  let draining = false;
  const stop = () => {
    let done = close;
    // The first signal drains a coordinator; a second one stops it at once.
    if (drain && !draining) {
      draining = true;
      console.log(`shutting down: running tasks may finish (up to ${drainMs / 1000} s), no new ones start; signal again to stop at once`);
      done = drain;
    }
    done().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

/** How long a stopping coordinator lets running tasks finish (--drain-timeout, in ms). */
function drainMs(values: CoordinatorFlags): number {
  return int(values['drain-timeout'], 'drain-timeout', 0) * 1000;
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    const topic = command === 'help' ? rest[0] : undefined;
    console.log(topic && topic in HELP ? HELP[topic as keyof typeof HELP] : USAGE);
    return;
  }
  if (command === 'coordinator') {
    const { values } = parseArgs({ args: rest, options: coordinatorFlags });
    if (values.help) return console.log(HELP.coordinator);
    const c = await runCoordinator(values);
    const ms = drainMs(values);
    onExit(
      () => c.close(),
      () => c.drain(ms),
      ms,
    );
  } else if (command === 'workers') {
    const { values } = parseArgs({
      args: rest,
      options: { url: { type: 'string' }, count: { type: 'string', default: '1' }, threads: { type: 'string' }, webgpu: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
    });
    if (values.help) return console.log(HELP.workers);
    if (!values.url) fail('workers needs --url, the coordinator address, e.g. --url http://127.0.0.1:8080');
    const workers = await launchWorkers({
      url: values.url,
      count: int(values.count, 'count', 1),
      threads: values.threads === undefined ? undefined : int(values.threads, 'threads', 1),
      webgpu: values.webgpu,
      log: (line) => console.log(line),
    });
    const n = workers.pages.length;
    console.log(`${n} page${n === 1 ? '' : 's'} joined; watch them at ${new URL('/dashboard', values.url).href} (Ctrl-C closes them)`);
    onExit(() => workers.close());
  } else if (command === 'start') {
    const { values } = parseArgs({
      args: rest,
      options: { ...coordinatorFlags, 'local-workers': { type: 'string', default: '1' }, threads: { type: 'string' }, webgpu: { type: 'boolean', default: false } },
    });
    if (values.help) return console.log(HELP.start);
    const localCount = int(values['local-workers'], 'local-workers', 0);
    const threads = values.threads === undefined ? undefined : int(values.threads, 'threads', 1);
    if (localCount === 0 && (threads !== undefined || values.webgpu)) fail('--threads and --webgpu set up the local pages: leave them out with --local-workers 0');
    // Before the coordinator starts, so a missing playwright-core is the only thing printed.
    if (localCount > 0) await loadPlaywright();
    const ms = drainMs(values);
    const c = await runCoordinator(values);
    let workers: LocalWorkers | undefined;
    if (localCount > 0) {
      workers = await launchWorkers({ url: joinUrls(c).at(-1), count: localCount, threads, webgpu: values.webgpu, log: (line) => console.log(line) });
      console.log(`${localCount} local headless worker page(s) joined: ${joinUrl(`${new URL(c.url).protocol}//127.0.0.1:${c.port}`)}`);
    }
    onExit(
      async () => {
        await workers?.close();
        await c.close();
      },
      async () => {
        await c.drain(ms);
        await workers?.close();
      },
      ms,
    );
  } else {
    fail(`unknown command "${command}"\n${USAGE}`);
  }
}

main(process.argv.slice(2)).catch((e: Error & { code?: string }) => {
  // parseArgs' own errors (an unknown flag, a missing value) point at the command's help.
  const [command] = process.argv.slice(2);
  const hint = e.code?.startsWith('ERR_PARSE_ARGS') && command && command in HELP ? `\nsee: ladle ${command} --help` : '';
  fail(e.message + hint);
});
