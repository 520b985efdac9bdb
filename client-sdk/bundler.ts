// Turns a task module (or an inline function) into one self-contained ESM
// bundle for the browser, named by the sha256 of its bytes. `ladle-grid/task`
// resolves to the task-side API that the Web Worker runtime provides.
import { build, type Plugin } from 'esbuild';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Bundle {
  code: string;
  hash: string;
  /** Names the module exports (a task can be any exported function). */
  exports: string[];
  /** The bundle's source map (JSON, sources as absolute paths): kept by the
   * SDK to map remote stack traces back to the task's files; not uploaded. */
  sourceMap: string;
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

/** `import kernel from './kernel.wasm'` gives a `WebAssembly.Module`. The
 * bytes travel inside the bundle (so they share its hash, upload and
 * IndexedDB cache), and the module is compiled when the bundle is imported:
 * once per Web Worker (or local worker thread), for every task it runs. */
const wasmPlugin: Plugin = {
  name: 'ladle-wasm',
  setup(b) {
    // The task module's import: a stub that compiles the bytes...
    b.onResolve({ filter: /\.wasm$/ }, async (args) => {
      if (args.pluginData === wasmPlugin) return undefined; // our own lookup, below
      if (args.namespace === 'ladle-wasm') return { path: args.path, namespace: 'ladle-wasm-bytes' };
      // esbuild finds the file (a relative path, or one inside an npm package).
      const found = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: wasmPlugin });
      if (found.errors.length > 0) return { errors: found.errors };
      return { path: found.path, namespace: 'ladle-wasm' };
    });
    b.onLoad({ filter: /.*/, namespace: 'ladle-wasm' }, (args) => ({
      contents: `import bytes from ${JSON.stringify(args.path)};\nexport default await WebAssembly.compile(bytes);\n`,
      loader: 'js',
    }));
    // ...which imports them through esbuild's binary loader (base64 in the bundle).
    b.onLoad({ filter: /.*/, namespace: 'ladle-wasm-bytes' }, async (args) => ({
      contents: await readFile(args.path),
      loader: 'binary',
    }));
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
    sourcemap: 'external',
    sourcesContent: false,
    logLevel: 'silent',
    plugins: [ladleTaskPlugin, wasmPlugin],
  });
  const code = result.outputFiles.find((f) => f.path.endsWith('.js'))!.text;
  const exports = Object.entries(result.metafile.outputs).find(([path]) => path.endsWith('.js'))?.[1].exports ?? [];
  const sourceMap = absoluteSources(result.outputFiles.find((f) => f.path.endsWith('.js.map'))!.text, 'entry' in input);
  return { code, hash: createHash('sha256').update(code).digest('hex'), exports, sourceMap };
}

/** esbuild names sources relative to the output file, which is `task.js` in
 * the working directory; a stack trace should name files anywhere. */
function absoluteSources(mapText: string, fromFiles: boolean): string {
  const map = JSON.parse(mapText) as { sources: string[] };
  if (fromFiles) map.sources = map.sources.map((s) => resolvePath(s));
  return JSON.stringify(map);
}

/** Bundles the task module at `entry`. Throws for one that exports nothing
 * (it would give no task to run) and, for a Node module it imports, says
 * why it cannot be found. */
export async function bundleModule(entry: string): Promise<Bundle> {
  let b: Bundle;
  try {
    b = await bundle({ entry });
  } catch (e) {
    const missing = /Could not resolve "([^"]+)"/.exec((e as Error).message)?.[1];
    if (missing !== undefined && (missing.startsWith('node:') || builtinModules.includes(missing.split('/')[0]))) {
      (e as Error).message += `\n(${missing} is a module of Node: tasks run in browsers' Web Workers, where it does not exist; compute with what the task is given, and send data as arguments or shared constants)`;
    }
    throw e;
  }
  if (b.exports.length === 0) throw new Error('it exports nothing: export the functions its tasks run (export function f(...) or export const f = ...)');
  return b;
}

// Words an export may not be named with `export const`.
const RESERVED = new Set(
  ('await break case catch class const continue debugger default delete do else enum eval export extends false finally for function ' +
    'if implements import in instanceof interface let new null package private protected public return static super switch this throw ' +
    'true try typeof var void while with yield arguments').split(' '),
);

/** The export name of an inline task: the function's own name when it is a
 * plain identifier (`function square(x)`, or a `const square = (x) => ...`
 * passed by name), else `inline`. Errors and timeouts name the task by it,
 * where `default` would tell the user nothing. */
export function inlineName(f: { name: string }): string {
  return /^[A-Za-z_$][\w$]*$/.test(f.name) && !RESERVED.has(f.name) ? f.name : 'inline';
}

/** Bundles a self-contained function given as source text, exported as `name` (see inlineName). */
export function bundleInline(fnSource: string, name: string): Promise<Bundle> {
  return bundle({ source: `export const ${name} = (${fnSource});\n`, resolveDir: process.cwd() });
}
