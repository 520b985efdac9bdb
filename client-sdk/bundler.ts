// Turns a task module (or an inline function) into one self-contained ESM
// bundle for the browser, named by the sha256 of its bytes. `ladle-grid/task`
// resolves to the task-side API that the Web Worker runtime provides.
import { build, type Plugin } from 'esbuild';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';

export interface Bundle {
  code: string;
  hash: string;
  /** Names the module exports (a task can be any exported function). */
  exports: string[];
}

// From the sources, the task API's source; in the published package this module
// is bundled into dist/sdk.js, and the task API is built beside it as dist/task.js.
const taskApiPath = fileURLToPath(
  new URL(import.meta.url.endsWith('.ts') ? '../browser-worker/task-api.ts' : './task.js', import.meta.url),
);

const ladleTaskPlugin: Plugin = {
  name: 'ladle-task',
  setup(b) {
    b.onResolve({ filter: /^ladle-grid\/task$/ }, () => ({ path: taskApiPath }));
  },
};

async function bundle(input: { entry: string } | { source: string; resolveDir: string }): Promise<Bundle> {
  const result = await build({
    ...('entry' in input
      ? { entryPoints: [input.entry] }
      : { stdin: { contents: input.source, loader: 'ts', resolveDir: input.resolveDir, sourcefile: 'inline-task.ts' } }),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    outfile: 'task.js',
    metafile: true,
    logLevel: 'silent',
    plugins: [ladleTaskPlugin],
  });
  const code = result.outputFiles[0].text;
  const exports = Object.values(result.metafile.outputs)[0]?.exports ?? [];
  return { code, hash: createHash('sha256').update(code).digest('hex'), exports };
}

export function bundleModule(entry: string): Promise<Bundle> {
  return bundle({ entry });
}

/** Bundles a self-contained function given as source text, as the default export. */
export function bundleInline(fnSource: string): Promise<Bundle> {
  return bundle({ source: `export default (${fnSource});\n`, resolveDir: process.cwd() });
}
