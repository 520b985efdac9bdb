// Builds dist/sdk.js so plain-JavaScript programs can `import 'ladle'`.
// (TypeScript programs run through tsx read the sources directly; the browser
// side is built by the coordinator when it starts.)
import { build } from 'esbuild';

await build({
  entryPoints: { sdk: 'client-sdk/index.ts' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outdir: 'dist',
  packages: 'external',
  logLevel: 'warning',
});
