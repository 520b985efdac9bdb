// Task modules that cannot run on a grid are refused when bundled, with a
// reason a newcomer can act on (the SDK's grid.module adds the file's name).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleModule } from '../../client-sdk/bundler.ts';

const dir = await mkdtemp(join(tmpdir(), 'ladle-bundler-'));
after(() => rm(dir, { recursive: true, force: true }));
async function moduleOf(name: string, source: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, source);
  return file;
}

test('a module that exports nothing is refused: it would give no task to run', async () => {
  await assert.rejects(bundleModule(await moduleOf('none.ts', 'const f = (x: number) => x;\nf(1);\n')), /exports nothing: export the functions its tasks run/);
  const ok = await bundleModule(await moduleOf('one.ts', 'export const f = (x: number) => x;\n'));
  assert.deepEqual(ok.exports, ['f']);
});

test("a Node module imported by a task is refused with why: tasks run in browsers' Web Workers", async () => {
  for (const spec of ['node:fs', 'fs', 'child_process', 'fs/promises']) {
    await assert.rejects(bundleModule(await moduleOf(`${spec.replace(/\W/g, '_')}.ts`, `import * as m from '${spec}';\nexport const f = () => Object.keys(m).length;\n`)), (e: Error) => {
      assert.match(e.message, new RegExp(`Could not resolve "${spec}"`));
      assert.match(e.message, new RegExp(`${spec} is a module of Node: tasks run in browsers' Web Workers`));
      return true;
    });
  }
});

test('other failures keep esbuild\'s own message, with the line, and no word of Node', async () => {
  await assert.rejects(bundleModule(await moduleOf('broken.ts', 'export const f = (x => ;\n')), (e: Error) => {
    assert.match(e.message, /broken\.ts:1:\d+: ERROR: Unexpected/);
    assert.doesNotMatch(e.message, /module of Node/);
    return true;
  });
  await assert.rejects(bundleModule(await moduleOf('missing.ts', "import { x } from './nowhere.ts';\nexport const f = () => x;\n")), (e: Error) => {
    assert.match(e.message, /Could not resolve "\.\/nowhere\.ts"/);
    assert.doesNotMatch(e.message, /module of Node/);
    return true;
  });
});
