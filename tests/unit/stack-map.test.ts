// Remote stack traces mapped back to the task module's lines, with a real
// esbuild bundle and its source map (npm code bundled before the user's).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bundleModule } from '../../client-sdk/bundler.ts';
import { SourceMaps } from '../../client-sdk/stack-map.ts';

const file = fileURLToPath(new URL('../fixtures/values.ts', import.meta.url));

/** 1-based line and column of `needle` in `text`. */
function position(text: string, needle: string): { line: number; column: number } {
  const lines = text.split('\n');
  const index = lines.findIndex((l) => l.includes(needle));
  assert.ok(index >= 0, `${needle} is in the text`);
  return { line: index + 1, column: lines[index].indexOf(needle) + 1 };
}

test('frames of a known bundle name the source file, line and column; other frames stay', async () => {
  const bundle = await bundleModule(file);
  const inBundle = position(bundle.code, 'throw new Error(`hashed');
  const inSource = position(readFileSync(file, 'utf8'), 'throw new Error(`hashed');
  assert.ok(inBundle.line > inSource.line + 100, 'the npm import puts many lines before the task code');
  const maps = new SourceMaps();
  maps.add(bundle.hash, bundle.sourceMap);
  const url = `http://127.0.0.1:8080/bundles/${bundle.hash}`;
  const unknown = `http://127.0.0.1:8080/bundles/${'0'.repeat(64)}:3:4`;
  const stack = [
    'Error: hashed abc',
    `    at throwsAfterNpm (${url}:${inBundle.line}:${inBundle.column})`,
    `    at ${url}:${inBundle.line}:${inBundle.column}`,
    `    at other (${unknown})`,
    '    at ot.call (http://127.0.0.1:8080/worker.js:4:6790)',
  ].join('\n');
  const mapped = maps.mapStack(stack).split('\n');
  assert.equal(mapped[0], 'Error: hashed abc');
  assert.equal(mapped[1], `    at throwsAfterNpm (${file}:${inSource.line}:${inSource.column})`);
  assert.equal(mapped[2], `    at ${file}:${inSource.line}:${inSource.column}`);
  assert.equal(mapped[3], `    at other (${unknown})`);
  assert.equal(mapped[4], '    at ot.call (http://127.0.0.1:8080/worker.js:4:6790)');
});

test('a position the map does not cover, or a stack without bundle frames, is left as it is', async () => {
  const bundle = await bundleModule(file);
  const maps = new SourceMaps();
  maps.add(bundle.hash, bundle.sourceMap);
  const outside = `    at x (http://h/bundles/${bundle.hash}:99999:1)`;
  assert.equal(maps.mapStack(outside), outside);
  assert.equal(maps.mapStack('just a message'), 'just a message');
  const broken = new SourceMaps();
  broken.add(bundle.hash, '{not json');
  const frame = `    at x (http://h/bundles/${bundle.hash}:1:1)`;
  assert.equal(broken.mapStack(frame), frame);
});
