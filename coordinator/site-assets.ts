// The browser side (join page and dashboard scripts, the Web Worker runtime).
// From the TypeScript sources, esbuild builds it when the coordinator starts and
// keeps the output in memory: no build folder to go stale while developing. The
// published package runs from dist/, where scripts/build.ts has already built it
// into dist/site/ with the same options, so an install needs no browser sources.
import { build, type BuildOptions } from 'esbuild';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const fromSources = import.meta.url.endsWith('.ts');

export interface Asset {
  body: Buffer;
  type: string;
}

/** How the browser scripts are built, at start (sources) or by scripts/build.ts. */
export const siteBuildOptions = {
  absWorkingDir: fileURLToPath(new URL('..', import.meta.url)),
  entryPoints: { join: 'site/join.ts', dashboard: 'site/dashboard.ts', worker: 'browser-worker/web-worker.ts', clock: 'browser-worker/clock-worker.ts' },
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  // Linked, not inline: an inline map tripled what every joining phone
  // downloads and parses (join.js was 1.4 MB); devtools fetch the .map only when open.
  sourcemap: 'linked',
  logLevel: 'silent',
} satisfies BuildOptions;

/** The static files served beside the scripts, by URL path. */
export const SITE_FILES = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard': { file: 'dashboard.html', type: 'text/html; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
} as const;

const SCRIPT_TYPE = 'text/javascript; charset=utf-8';
const MAP_TYPE = 'application/json; charset=utf-8';

/** The build from sources, once per process: every coordinator a process
 * starts (a test file starts dozens) serves the same sources. */
let builtFromSources: ReturnType<typeof build<{ write: false }>> | undefined;

export async function buildSiteAssets(): Promise<Map<string, Asset>> {
  const assets = new Map<string, Asset>();
  // In dist/, this module is bundled into dist/cli.js and the site is in dist/site/.
  const dir = new URL(fromSources ? '../site/' : './site/', import.meta.url);
  if (fromSources) {
    if (!builtFromSources) {
      builtFromSources = build({ ...siteBuildOptions, write: false, outdir: 'out' });
      builtFromSources.catch(() => (builtFromSources = undefined)); // a failed build is tried again
    }
    const result = await builtFromSources;
    for (const file of result.outputFiles) {
      const name = file.path.slice(file.path.lastIndexOf('/') + 1);
      assets.set(`/${name}`, { body: Buffer.from(file.contents), type: name.endsWith('.map') ? MAP_TYPE : SCRIPT_TYPE });
    }
  } else {
    for (const name of Object.keys(siteBuildOptions.entryPoints)) {
      assets.set(`/${name}.js`, { body: await readFile(new URL(`${name}.js`, dir)), type: SCRIPT_TYPE });
      assets.set(`/${name}.js.map`, { body: await readFile(new URL(`${name}.js.map`, dir)), type: MAP_TYPE });
    }
  }
  for (const [path, { file, type }] of Object.entries(SITE_FILES)) {
    assets.set(path, { body: await readFile(new URL(file, dir)), type });
  }
  return assets;
}
