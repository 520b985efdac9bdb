// Builds the browser side (join page and dashboard scripts, the Web Worker runtime) with
// esbuild when the coordinator starts, and keeps the output in memory: there
// is no build folder to go stale and nothing generated to commit.
import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

export interface Asset {
  body: Buffer;
  type: string;
}

export async function buildSiteAssets(): Promise<Map<string, Asset>> {
  const result = await build({
    absWorkingDir: root,
    entryPoints: { join: 'site/join.ts', dashboard: 'site/dashboard.ts', worker: 'browser-worker/web-worker.ts', clock: 'browser-worker/clock-worker.ts' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    outdir: 'out',
    minify: true,
    sourcemap: 'inline',
    logLevel: 'silent',
  });
  const assets = new Map<string, Asset>();
  for (const file of result.outputFiles) {
    const name = file.path.slice(file.path.lastIndexOf('/') + 1);
    assets.set(`/${name}`, { body: Buffer.from(file.contents), type: 'text/javascript; charset=utf-8' });
  }
  assets.set('/', { body: await readFile(new URL('../site/index.html', import.meta.url)), type: 'text/html; charset=utf-8' });
  assets.set('/dashboard', { body: await readFile(new URL('../site/dashboard.html', import.meta.url)), type: 'text/html; charset=utf-8' });
  assets.set('/style.css', { body: await readFile(new URL('../site/style.css', import.meta.url)), type: 'text/css; charset=utf-8' });
  return assets;
}
