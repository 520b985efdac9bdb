#!/usr/bin/env node
// The `ladle` command. In a checkout it runs the TypeScript sources through tsx,
// so there is no build step while developing; the published package ships no
// sources and runs its build, dist/cli.js, with plain Node.
import { existsSync } from 'node:fs';

const sources = new URL('../cli/main.ts', import.meta.url);
if (existsSync(sources)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(sources.href);
} else {
  await import('../dist/cli.js');
}
