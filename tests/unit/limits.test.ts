import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_LIMITS,
  FRAME_OVERHEAD_BYTES,
  MAX_TASK_BYTES_CEILING,
  coordinatorLimits,
  sharedBytesError,
  taskBytesError,
  taskOptionsError,
  verifyError,
} from '../../protocol/limits.ts';

const MiB = 1024 * 1024;

test('the defaults: 64 MiB frames, 32 MiB of arguments, 16 MiB results, timeouts up to 2**31-1 ms, 100 attempts', () => {
  assert.deepEqual(coordinatorLimits(), { frameBytes: 64 * MiB, taskBytes: 32 * MiB, resultBytes: 16 * MiB, timeout: 2 ** 31 - 1, attempts: 100 });
  assert.deepEqual(coordinatorLimits(), DEFAULT_LIMITS);
});

test('a larger task limit grows the frame limit to carry it', () => {
  const l = coordinatorLimits({ maxTaskBytes: 100 * MiB });
  assert.equal(l.taskBytes, 100 * MiB);
  assert.equal(l.frameBytes, 100 * MiB + FRAME_OVERHEAD_BYTES);
});

test('a small frame limit shrinks the task and result limits to fit', () => {
  const l = coordinatorLimits({ maxPayload: MiB });
  assert.equal(l.frameBytes, MiB);
  assert.equal(l.taskBytes, MiB - FRAME_OVERHEAD_BYTES);
  assert.equal(l.resultBytes, MiB - FRAME_OVERHEAD_BYTES);
});

test('limits out of bounds are refused with the option named', () => {
  assert.throws(() => coordinatorLimits({ maxTaskBytes: 0 }), /maxTaskBytes/);
  assert.throws(() => coordinatorLimits({ maxTaskBytes: 1.5 }), /maxTaskBytes/);
  assert.throws(() => coordinatorLimits({ maxTaskBytes: MAX_TASK_BYTES_CEILING + 1 }), /maxTaskBytes/);
  assert.throws(() => coordinatorLimits({ maxPayload: MiB, maxTaskBytes: MiB }), /maxTaskBytes .* must leave/);
});

test('task options: timeout 1..2**31-1 whole ms, attempts 1..100', () => {
  for (const ok of [{}, { timeout: 1 }, { timeout: 2 ** 31 - 1 }, { attempts: 1 }, { attempts: 100 }]) assert.equal(taskOptionsError(ok), undefined);
  for (const timeout of [0, -1, 1.5, 2 ** 31, 3_000_000_000, Infinity, Number.NaN, '5']) {
    assert.match(taskOptionsError({ timeout }) ?? '', /^timeout is a whole number of milliseconds from 1 to 2147483647; got /);
  }
  for (const attempts of [0, 101, 2.5, '3']) assert.match(taskOptionsError({ attempts }) ?? '', /^attempts is a whole number from 1 to 100/);
});

test('sizes over the limit name the limit and the coordinator option that raises it', () => {
  assert.equal(taskBytesError('echo', 32 * MiB, DEFAULT_LIMITS), undefined);
  const tooLarge = taskBytesError('echo', 32 * MiB + 1, DEFAULT_LIMITS);
  assert.match(tooLarge ?? '', /arguments of echo are 33554433 bytes packed; a task may carry at most 33554432/);
  assert.match(tooLarge ?? '', /--max-task-bytes/);
  assert.equal(sharedBytesError(32 * MiB, DEFAULT_LIMITS), undefined);
  assert.match(sharedBytesError(32 * MiB + 1, DEFAULT_LIMITS) ?? '', /at most 33554432.*--max-task-bytes/);
});

test("connect's own options out of range are refused before any connection, with ERR_INVALID_OPTION", async () => {
  const { connect, LadleError } = await import('../../client-sdk/index.ts');
  const url = 'http://127.0.0.1:9'; // never reached
  for (const options of [{ grace: -1 }, { grace: 25 * 3600 * 1000 }, { grace: 1.5 }, { connectTimeout: 0 }, { connectTimeout: Number.NaN }]) {
    await assert.rejects(connect({ url, token: 't', ...options }), (e: unknown) => e instanceof LadleError && e.code === 'ERR_INVALID_OPTION', JSON.stringify(options));
  }
});

test('verify takes adaptive, off, or 2 to 9 distinct pages; anything else is named in a clear error', () => {
  for (const ok of ['adaptive', 'off', 2, 9]) assert.equal(verifyError(ok), undefined);
  for (const bad of [0, 1, -3, 1000, 2.5, 'x', null, {}]) assert.match(verifyError(bad) ?? '', /^verify is 'adaptive', 'off', or how many distinct pages/);
  assert.match(verifyError(1)!, /one page's result is what a task gets without verify/);
  assert.match(taskOptionsError({ verify: 1000 })!, /got 1000/);
});
