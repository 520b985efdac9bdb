// Runs the real `ladle` command as a child process and reads what it prints.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Stats } from '../../coordinator/stats.ts';

const bin = fileURLToPath(new URL('../../bin/ladle.js', import.meta.url));

export interface LadleProcess {
  proc: ChildProcess;
  /** All stdout and stderr so far. */
  output(): string;
  /** Resolves with the first match of `pattern` in the output. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

export interface RunOptions {
  /** Another `ladle` script, e.g. an installed package's (default: this checkout's). */
  bin?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

export function runLadle(args: string[], options: RunOptions = {}): LadleProcess {
  const proc = spawn(process.execPath, [options.bin ?? bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], cwd: options.cwd, env: options.env });
  let out = '';
  const waiters: (() => void)[] = [];
  const onData = (chunk: Buffer) => {
    out += chunk.toString();
    for (const w of waiters.splice(0)) w();
  };
  proc.stdout.on('data', onData);
  proc.stderr.on('data', onData);
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));

  return {
    proc,
    output: () => out,
    exited,
    waitFor(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern} in:\n${out}`)), timeoutMs);
        const check = () => {
          const m = out.match(pattern);
          if (m) {
            clearTimeout(timer);
            resolve(m);
          } else if (proc.exitCode !== null) {
            clearTimeout(timer);
            reject(new Error(`ladle exited (${proc.exitCode}) before printing ${pattern}:\n${out}`));
          } else {
            waiters.push(check);
          }
        };
        void exited.then(() => waiters.push(check)).then(() => onData(Buffer.alloc(0)));
        check();
      });
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}

/** A coordinator's URL (its public totals), or the coordinator itself (its admin token shows each worker and job). */
export type StatsSource = string | { url: string; adminToken: string };

/** Fetches `/api/stats`, with the admin token when `source` carries it. */
export async function fetchStats(source: StatsSource): Promise<Stats> {
  const [url, headers] = typeof source === 'string' ? [source, {}] : [source.url, { authorization: `Bearer ${source.adminToken}` }];
  const res = await fetch(`${url}/api/stats`, { headers });
  if (!res.ok) throw new Error(`/api/stats answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as Stats;
}

/** Polls `/api/stats` until `predicate` holds: the stats API has no push channel. */
export async function statsUntil(source: StatsSource, predicate: (s: Stats) => boolean, timeoutMs = 15_000): Promise<Stats> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const stats = await fetchStats(source);
    if (predicate(stats)) return stats;
    if (Date.now() > deadline) throw new Error(`stats never matched: ${JSON.stringify(stats)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
