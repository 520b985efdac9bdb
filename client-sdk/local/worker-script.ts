// The script of a local grid's worker threads, built from worker-entry.ts
// with esbuild once per process. Node's worker threads do not inherit tsx's
// loader, and dist/sdk.js is one bundle with no sibling file to start: one
// self-contained script, started from a data: URL, works from both.
import { build } from 'esbuild';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** worker-entry beside this file (sources, or a per-file build), or under
 * the package root (this file bundled into dist/sdk.js). */
function entryPath(): string {
  for (const rel of ['./worker-entry.ts', './worker-entry.js', '../client-sdk/local/worker-entry.ts']) {
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
    // msgpackr tries its optional native addon in a try block: without it, it runs in plain JavaScript.
    external: ['msgpackr-extract'],
    // Stack traces name the script, not a data: URL of the whole of it.
    footer: { js: '//# sourceURL=ladle-local-worker.js' },
  }).then((result) => new URL(`data:text/javascript;base64,${Buffer.from(result.outputFiles[0].contents).toString('base64')}`));
  script.catch(() => (script = undefined)); // a later connect() tries again
  return script;
}
