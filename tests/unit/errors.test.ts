import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CancelledError,
  ConnectionError,
  DataCloneError,
  ErrorCode,
  LadleError,
  RemoteError,
  TaskLostError,
  TimeoutError,
  VerificationError,
} from '../../client-sdk/index.ts';
import { outcomeError } from '../../futures/errors.ts';

test('every SDK error is a LadleError and an Error with its stable code and name', () => {
  const cases: [Error, string, string][] = [
    [new RemoteError({ name: 'RangeError', message: 'bad', stack: 's' }), 'ERR_REMOTE', 'RemoteError'],
    [new TimeoutError('late'), 'ERR_TIMEOUT', 'TimeoutError'],
    [new CancelledError('off'), 'ERR_CANCELLED', 'CancelledError'],
    [new TaskLostError('gone'), 'ERR_TASK_LOST', 'TaskLostError'],
    [new ConnectionError('down'), 'ERR_CONNECTION', 'ConnectionError'],
  ];
  for (const [e, code, name] of cases) {
    assert.ok(e instanceof LadleError, name);
    assert.ok(e instanceof Error, name);
    assert.equal(e.code, code);
    assert.equal(e.name, name);
  }
});

test('RemoteError keeps the remote name, message and stack', () => {
  const e = new RemoteError({ name: 'RangeError', message: 'bad', stack: 'at f' });
  assert.equal(e.message, 'RangeError: bad');
  assert.equal(e.remoteName, 'RangeError');
  assert.equal(e.remoteMessage, 'bad');
  assert.equal(e.remoteStack, 'at f');
});

test('a ConnectionError may carry a more precise code', () => {
  const e = new ConnectionError('frame too big', ErrorCode.TOO_LARGE);
  assert.ok(e instanceof ConnectionError);
  assert.equal(e.code, 'ERR_TOO_LARGE');
});

test('the codes are the documented strings', () => {
  assert.deepEqual(Object.values(ErrorCode).sort(), [
    'ERR_CANCELLED',
    'ERR_CONNECTION',
    'ERR_DATA_CLONE',
    'ERR_INVALID_OPTION',
    'ERR_REMOTE',
    'ERR_TASK_LOST',
    'ERR_TIMEOUT',
    'ERR_TOO_LARGE',
    'ERR_TOO_MANY_TASKS',
    'ERR_VERIFICATION',
  ]);
});

test('DataCloneError is a LadleError with its code and path', () => {
  const e = new DataCloneError({ path: 'args[0].f', what: 'a function (f)' });
  assert.ok(e instanceof LadleError);
  assert.equal(e.code, 'ERR_DATA_CLONE');
  assert.equal(e.path, 'args[0].f');
});

test('failed outcomes map to the error of their kind', () => {
  const error = { name: 'Error', message: 'm' };
  assert.equal((outcomeError({ id: 1, ok: false, error, kind: 'lost' }) as LadleError).code, 'ERR_TASK_LOST');
  assert.equal((outcomeError({ id: 1, ok: false, error, kind: 'timeout' }) as LadleError).code, 'ERR_TIMEOUT');
  assert.equal((outcomeError({ id: 1, ok: false, error, kind: 'cancelled' }) as LadleError).code, 'ERR_CANCELLED');
  assert.equal((outcomeError({ id: 1, ok: false, error, kind: 'invalid' }) as LadleError).code, 'ERR_INVALID_OPTION');
  assert.equal((outcomeError({ id: 1, ok: false, error, kind: 'tooLarge' }) as LadleError).code, 'ERR_TOO_LARGE');
  assert.equal((outcomeError({ id: 1, ok: false, error, kind: 'tooMany' }) as LadleError).code, 'ERR_TOO_MANY_TASKS');
  assert.equal((outcomeError({ id: 1, ok: false, error }) as LadleError).code, 'ERR_REMOTE');
});

test('an unverified outcome rejects with VerificationError, carrying its counts', () => {
  const e = outcomeError({ id: 1, ok: false, kind: 'unverified', error: { name: 'VerificationError', message: 'no quorum' }, verify: { distinct: 3, runs: 3 } });
  assert.ok(e instanceof VerificationError);
  assert.equal(e.code, 'ERR_VERIFICATION');
  assert.deepEqual([e.distinct, e.runs], [3, 3]);
});
