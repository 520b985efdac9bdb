// What a thrown value becomes on the wire (errorInfo, in the page), how the
// protocol validates it, and what the SDK makes of it (RemoteError).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errorInfo } from '../../browser-worker/error-info.ts';
import { DataCloneError, RemoteError } from '../../futures/errors.ts';
import { ERROR_LIMITS, ProtocolError, parseToClient, type RemoteErrorInfo } from '../../protocol/messages.ts';

const results = (error: unknown) => ({ t: 'results', seq: 1, started: [], results: [{ id: 1, ok: false, error }] });
const roundTrip = (info: RemoteErrorInfo) => new RemoteError((parseToClient(results(info)) as unknown as { results: [{ error: RemoteErrorInfo }] }).results[0].error);

test("an Error keeps its name, message, stack, code and copyable own properties; the rest are named as dropped", () => {
  const thrown = Object.assign(new RangeError('no such row', { cause: { row: 7 } }), { code: 'E_NO_ROW', row: 7, when: new Date(5), retry: () => 1, sym: Symbol('s') });
  const info = errorInfo(thrown);
  assert.equal(info.name, 'RangeError');
  assert.equal(info.code, 'E_NO_ROW');
  assert.deepEqual(info.dropped, ['retry', 'sym']);
  const e = roundTrip(info);
  assert.equal(e.remoteName, 'RangeError');
  assert.equal(e.remoteMessage, 'no such row');
  assert.equal(e.remoteCode, 'E_NO_ROW');
  assert.deepEqual(e.remoteProps, { row: 7, when: new Date(5), cause: { row: 7 } });
  assert.deepEqual(e.remoteDropped, ['retry', 'sym']);
  assert.equal(e.remoteValue, undefined);
  assert.match(e.remoteStack ?? '', /no such row/);
});

test('a numeric code is kept; an Error without extras carries none', () => {
  assert.equal(errorInfo(Object.assign(new Error('x'), { code: 404 })).code, 404);
  const plain = errorInfo(new Error('x'));
  assert.deepEqual(Object.keys(plain).sort(), ['message', 'name', 'stack']);
  const e = roundTrip(plain);
  assert.equal(e.remoteCode, undefined);
  assert.deepEqual(e.remoteProps, {});
  assert.deepEqual(e.remoteDropped, []);
});

test('a thrown string, object, number or undefined keeps its value when it can be copied', () => {
  for (const v of ['plain string', { reason: 'bad', at: [1, -0] }, 42, undefined, null]) {
    const e = roundTrip(errorInfo(v));
    assert.equal(e.remoteName, 'Error');
    assert.match(e.remoteMessage, /a non-Error value was thrown/);
    assert.deepStrictEqual(e.remoteValue, v);
  }
  const fn = roundTrip(errorInfo({ f: () => 1 }));
  assert.equal(fn.remoteValue, undefined);
  const hostile = { toString: () => { throw new Error('no'); } };
  assert.match(errorInfo(hostile).message, /non-Error value was thrown: \[object Object\]/);
});

test('an error whose name or message cannot be read still fails the task with a clear message', () => {
  const hostile = new Error('x');
  Object.defineProperty(hostile, 'name', { get: () => { throw new Error('no'); } });
  const info = errorInfo(hostile);
  assert.equal(info.message, 'the task threw a value that could not be read');
  assert.doesNotThrow(() => parseToClient(results(info)));
});

test('what a page sends stays inside the protocol bounds, however big the error', () => {
  const huge = Object.assign(new Error('m'.repeat(200_000)), { code: 'c'.repeat(1000), blob: new Uint8Array(100_000) });
  Object.defineProperty(huge, 'name', { value: 'N'.repeat(1000) });
  huge.stack = 's'.repeat(200_000);
  for (let i = 0; i < 100; i++) (huge as unknown as Record<string, unknown>)[`f${i}`] = () => i;
  const info = errorInfo(huge);
  assert.equal(info.message.length, ERROR_LIMITS.message);
  assert.equal(info.name.length, ERROR_LIMITS.name);
  assert.equal(info.stack?.length, ERROR_LIMITS.stack);
  assert.equal(String(info.code).length, ERROR_LIMITS.code);
  assert.equal(info.props, undefined, 'too big to send');
  assert.equal(info.dropped?.length, ERROR_LIMITS.dropped);
  assert.doesNotThrow(() => parseToClient(results(info)));
  assert.equal(errorInfo('x'.repeat(100_000)).value, undefined, 'a thrown value too big to send is left out');
});

test('the protocol refuses error fields of the wrong type or size', () => {
  const base = { name: 'E', message: 'm' };
  const bad: unknown[] = [
    { ...base, code: { nested: 1 } },
    { ...base, code: Number.NaN },
    { ...base, code: 'c'.repeat(ERROR_LIMITS.code + 1) },
    { ...base, props: 'not bytes' },
    { ...base, props: new Uint8Array(ERROR_LIMITS.bytes + 1) },
    { ...base, value: [1, 2] },
    { ...base, dropped: 'x' },
    { ...base, dropped: [1] },
    { ...base, dropped: Array.from({ length: ERROR_LIMITS.dropped + 1 }, () => 'p') },
  ];
  for (const error of bad) assert.throws(() => parseToClient(results(error)), ProtocolError, JSON.stringify(error, (_k, v: unknown) => (v instanceof Uint8Array ? `bytes(${v.length})` : v)).slice(0, 80));
  assert.doesNotThrow(() => parseToClient(results({ ...base, code: -1.5, props: new Uint8Array([0x80]), value: new Uint8Array([0xc0]), dropped: ['a'] })));
});

test('props or value bytes that do not decode are ignored, not thrown', () => {
  const e = new RemoteError({ name: 'E', message: 'm', props: new Uint8Array([0x92, 1]), value: new Uint8Array([0x92]) });
  assert.deepEqual(e.remoteProps, {});
  assert.equal(e.remoteValue, undefined);
});

test("RemoteError's stack shows the remote frames, mapped", () => {
  const e = new RemoteError({ name: 'TypeError', message: 'm', stack: 'TypeError: m\n    at f (http://h/bundles/x:1:2)\n    at g (http://h/worker.js:3:4)' }, (s) => s.replace('http://h/bundles/x:1:2', '/src/tasks.ts:6:11'));
  assert.equal(e.remoteStack, 'TypeError: m\n    at f (/src/tasks.ts:6:11)\n    at g (http://h/worker.js:3:4)');
  assert.equal(e.stack, 'RemoteError: TypeError: m\n    at f (/src/tasks.ts:6:11)\n    at g (http://h/worker.js:3:4)');
});

test('DataCloneError has a stable code and names the path', () => {
  const e = new DataCloneError({ path: 'args[0].f', what: 'a function (f)' });
  assert.equal(e.name, 'DataCloneError');
  assert.equal(e.code, 'ERR_DATA_CLONE');
  assert.equal(e.path, 'args[0].f');
  assert.equal(e.message, 'args[0].f cannot be copied: it is a function (f)');
  assert.ok(e instanceof Error);
});
