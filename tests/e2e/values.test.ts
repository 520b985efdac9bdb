// Values are checked and errors lead to the user's code, end to end: real
// Chromium pages, the real coordinator, the SDK.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DataCloneError, RemoteError } from '../../client-sdk/index.ts';
import { startTestGrid, fixture, type TestGrid } from '../helpers/grid.ts';
import type * as Values from '../fixtures/values.ts';

let g: TestGrid;
let tasks: Awaited<ReturnType<typeof loadTasks>>;
const loadTasks = () => g.grid.module<typeof Values>(fixture('values.ts'));
const fixtureFile = fileURLToPath(fixture('values.ts'));

/** The 1-based line of the fixture that ends with `// marker: name`. */
function lineOf(marker: string): number {
  const index = readFileSync(fixtureFile, 'utf8').split('\n').findIndex((l) => l.endsWith(`// marker: ${marker}`));
  assert.ok(index >= 0, `marker ${marker} is in the fixture`);
  return index + 1;
}

async function remoteError(f: PromiseLike<unknown> & { exception(): Promise<unknown> }): Promise<RemoteError> {
  const e = await f.exception();
  assert.ok(e instanceof RemoteError, `expected a RemoteError, got ${String(e)}`);
  return e;
}

before(async () => {
  g = await startTestGrid({ pages: 1, threads: 2 });
  tasks = await loadTasks();
});
after(async () => {
  await g?.close();
});

test("a task's stack names the task module's file and line, not the bundle's", async () => {
  const e = await remoteError(g.grid.submit(tasks.throwsHere, 'out of range'));
  assert.equal(e.remoteName, 'RangeError');
  assert.equal(e.remoteMessage, 'out of range');
  const first = e.remoteStack?.split('\n')[1] ?? '';
  assert.ok(first.includes(`${fixtureFile}:${lineOf('throws-here')}:`), `first frame: ${first}`);
  assert.doesNotMatch(e.remoteStack ?? '', /blob:/);
  assert.ok(e.stack?.includes(`${fixtureFile}:${lineOf('throws-here')}:`), 'the RemoteError stack shows the remote frames');
});

test('with an npm package bundled before it, the line is still the source line', async () => {
  const e = await remoteError(g.grid.submit(tasks.throwsAfterNpm, 'abc'));
  assert.equal(e.remoteMessage, 'hashed abc');
  const first = e.remoteStack?.split('\n')[1] ?? '';
  assert.ok(first.includes(`${fixtureFile}:${lineOf('throws-after-npm')}:`), `first frame: ${first}`);
});

test("a thrown error's code and copyable properties arrive; the others are named as dropped", async () => {
  const e = await remoteError(g.grid.submit(tasks.throwsCoded));
  assert.equal(e.remoteCode, 'E_NO_ROW');
  assert.deepEqual(e.remoteProps, { row: 7 });
  assert.deepEqual(e.remoteDropped, ['retry']);
});

test('a thrown string or object keeps its value', async () => {
  const s = await remoteError(g.grid.submit(tasks.throwsValue, 'string'));
  assert.equal(s.remoteValue, 'plain string');
  assert.match(s.remoteMessage, /plain string/);
  const o = await remoteError(g.grid.submit(tasks.throwsValue, 'object'));
  assert.deepEqual(o.remoteValue, { reason: 'bad input', at: [1, 2] });
});

test('a task returning a function fails with DataCloneError naming result', async () => {
  const e = await remoteError(g.grid.submit(tasks.returnsFunction));
  assert.equal(e.remoteName, 'DataCloneError');
  assert.equal(e.remoteCode, 'ERR_DATA_CLONE');
  assert.equal(e.remoteProps.path, 'result');
  const nested = await remoteError(g.grid.submit(tasks.returnsNested));
  assert.equal(nested.remoteProps.path, 'result.items[3].tag');
  assert.match(nested.remoteMessage, /result\.items\[3\]\.tag cannot be copied: it is a symbol/);
});

test('a subtask spawned with a function in its arguments is refused inside the task', async () => {
  const e = await remoteError(g.grid.submit(tasks.spawnsWithFunction));
  assert.equal(e.remoteName, 'DataCloneError');
  assert.equal(e.remoteProps.path, 'args[0].f');
});

test('submitting an argument holding a function rejects with its path, and nothing runs', async () => {
  const f = g.grid.submit(tasks.echo, { rows: [{ parse: () => 1 }] });
  const e = await f.exception();
  assert.ok(e instanceof DataCloneError, `got ${String(e)}`);
  assert.equal(e.code, 'ERR_DATA_CLONE');
  assert.equal(e.path, 'args[0].rows[0].parse');
  await assert.rejects(g.grid.shared.set({ ok: 1, factor: Promise.resolve(3) }), (err: unknown) => err instanceof DataCloneError && err.path === 'shared.factor');
  // Nothing was set: both names are still free.
  await g.grid.shared.set({ ok: 1, factor: 3 });
});

test('-0, NaN and a cyclic Map round-trip through a real page', async () => {
  assert.ok(Object.is(await g.grid.submit(tasks.echo, -0), -0));
  assert.ok(Number.isNaN(await g.grid.submit(tasks.echo, NaN)));
  const m = new Map<string, unknown>([['zero', -0]]);
  m.set('self', m);
  const back = (await g.grid.submit(tasks.echo, m)) as Map<string, unknown>;
  assert.ok(back instanceof Map);
  assert.equal(back.get('self'), back);
  assert.ok(Object.is(back.get('zero'), -0));
});
