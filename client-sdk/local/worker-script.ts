// The script of a local grid's worker threads, built from worker-entry.ts
// with esbuild once per process. Node's worker threads do not inherit tsx's
// loader, and dist/sdk.js is one bundle with no sibling file to start: one
// self-contained script, started from a data: URL, works from both.
import { build } from 'esbuild';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** worker-entry.ts beside this file (sources), or under the package root (dist/sdk.js). */
function entryPath(): string {
  for (const rel of ['./worker-entry.ts', '../client-sdk/local/worker-entry.ts']) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new Error('local mode cannot find client-sdk/local/worker-entry.ts in the ladle package');
}

let script: Promise<URL> | undefined;

export function workerScript(): Promise<URL> {
  script ??= build({
    entryPoints: [entryPath()],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    logLevel: 'silent',
  }).then((result) => new URL(`data:text/javascript;base64,${Buffer.from(result.outputFiles[0].contents).toString('base64')}`));
  script.catch(() => (script = undefined)); // a later connect() tries again
  return script;
}
