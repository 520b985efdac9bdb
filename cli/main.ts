// The `ladle` command: coordinator, workers, and start (both at once).
import { parseArgs } from 'node:util';
import { networkInterfaces } from 'node:os';
import { startCoordinator, type Coordinator } from '../coordinator/coordinator.ts';
import { parseTokens, readTokensFile } from '../coordinator/auth.ts';
import { launchWorkers, joinUrl, type LocalWorkers } from './workers.ts';

const USAGE = `usage:
  ladle coordinator [--host 0.0.0.0] [--port 8080] [--token T] [--tokens FILE]
                    [--join-token J] [--data DIR]
  ladle workers --url http://HOST:PORT [--count 1] [--threads N]
  ladle start [--local-workers 1] [coordinator options]

  coordinator   serve the grid: volunteers join by opening its URL
  workers       open headless Chromium pages that join a grid
  start         a coordinator plus local headless worker pages`;

const coordinatorFlags = {
  host: { type: 'string', default: '0.0.0.0' },
  port: { type: 'string', default: '8080' },
  token: { type: 'string' },
  tokens: { type: 'string' },
  'join-token': { type: 'string' },
  data: { type: 'string', default: '.ladle' },
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

/** The URLs a volunteer can open: one per LAN address when bound to all. */
function joinUrls(c: Coordinator): string[] {
  const query = c.joinToken ? `/?join=${encodeURIComponent(c.joinToken)}` : '';
  if (c.host !== '0.0.0.0' && c.host !== '::') return [c.url + query];
  const urls: string[] = [];
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.family === 'IPv4' && !a.internal) urls.push(`http://${a.address}:${c.port}${query}`);
    }
  }
  urls.push(`http://127.0.0.1:${c.port}${query}`);
  return urls;
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

async function runCoordinator(values: { host: string; port: string; token?: string; tokens?: string; 'join-token'?: string; data: string }): Promise<Coordinator> {
  const port = int(values.port, 'port', 0);
  try {
    const c = await startCoordinator({
      host: values.host,
      port,
      token: values.token,
      tokens: namedTokens(values.tokens),
      joinToken: values['join-token'],
      dataDir: values.data,
    });
    const urls = joinUrls(c);
    console.log(
      [
        'Ladle coordinator is up.',
        'Join by opening, in any browser:',
        ...urls.map((u) => `  ${u}`),
        `Stats:   http://127.0.0.1:${c.port}/api/stats`,
        `Submit:  LADLE_URL=http://127.0.0.1:${c.port} LADLE_TOKEN=${c.token || '<one of the named tokens>'}`,
      ].join('\n'),
    );
    return c;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE') fail(`port ${port} on ${values.host} is already in use; pick another with --port (e.g. --port ${port + 1})`);
    if (err.code === 'EACCES') fail(`not allowed to listen on port ${port}; use a port above 1023`);
    throw e;
  }
}

function onExit(close: () => Promise<void>): void {
  const stop = () => {
    close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    console.log(USAGE);
    return;
  }
  if (command === 'coordinator') {
    const { values } = parseArgs({ args: rest, options: coordinatorFlags });
    if (values.help) return console.log(USAGE);
    const c = await runCoordinator(values);
    onExit(() => c.close());
  } else if (command === 'workers') {
    const { values } = parseArgs({
      args: rest,
      options: { url: { type: 'string' }, count: { type: 'string', default: '1' }, threads: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
    if (values.help) return console.log(USAGE);
    if (!values.url) fail('workers needs --url, the coordinator address, e.g. --url http://127.0.0.1:8080');
    const workers = await launchWorkers({
      url: values.url,
      count: int(values.count, 'count', 1),
      threads: values.threads === undefined ? undefined : int(values.threads, 'threads', 1),
      log: (line) => console.log(line),
    });
    onExit(() => workers.close());
  } else if (command === 'start') {
    const { values } = parseArgs({ args: rest, options: { ...coordinatorFlags, 'local-workers': { type: 'string', default: '1' } } });
    if (values.help) return console.log(USAGE);
    const localCount = int(values['local-workers'], 'local-workers', 0);
    const c = await runCoordinator(values);
    let workers: LocalWorkers | undefined;
    if (localCount > 0) {
      workers = await launchWorkers({ url: joinUrls(c).at(-1)!, count: localCount, log: (line) => console.log(line) });
      console.log(`${localCount} local headless worker page(s) joined: ${joinUrl(`http://127.0.0.1:${c.port}`)}`);
    }
    onExit(async () => {
      await workers?.close();
      await c.close();
    });
  } else {
    fail(`unknown command "${command}"\n${USAGE}`);
  }
}

main(process.argv.slice(2)).catch((e: Error) => fail(e.message));
