// Builds dist/, what the published package runs and ships:
//   sdk.js       `import 'ladle-grid'` (the Node SDK)
//   task.js      `import 'ladle-grid/task'` (bundled into each task module)
//   cli.js       the `ladle` command, run by bin/ladle.js once installed
//   site/        the join page, dashboard and Web Worker runtime, prebuilt
//   types/       .d.ts for both entry points
// In a checkout, Node code runs from the TypeScript sources through tsx and the
// coordinator builds the browser side when it starts; `npm test` builds dist/
// for the tests that use the package as a user would.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { cp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { SITE_FILES, siteBuildOptions } from '../coordinator/site-assets.ts';

await rm('dist', { recursive: true, force: true });

const node = { bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'warning' } as const;
await Promise.all([
  build({ ...node, entryPoints: { sdk: 'client-sdk/index.ts', cli: 'cli/main.ts' }, outdir: 'dist' }),
  build({ ...node, platform: 'neutral', entryPoints: { task: 'browser-worker/task-api.ts' }, outdir: 'dist' }),
  build({ ...siteBuildOptions, logLevel: 'warning', outdir: 'dist/site' }),
]);
for (const { file } of Object.values(SITE_FILES)) await cp(`site/${file}`, `dist/site/${file}`);

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
