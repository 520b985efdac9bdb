// The page's report to the coordinator (browser-worker/page-report.ts) under
// the coordinator's limits: a result too large fails alone, and results and
// subtasks too large for one frame go in several, so that the coordinator
// never closes a page's connection over a frame (which would rerun every
// task the page holds).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReportOutbox, splitReport } from '../../browser-worker/page-report.ts';
import type { Timers } from '../../browser-worker/clock.ts';
import type { GridTaskId } from '../../browser-worker/task-origin.ts';
import { encodeFrame, type PageReport, type ReleasedTask, type TaskOutcome } from '../../protocol/messages.ts';
import { DEFAULT_LIMITS, coordinatorLimits } from '../../protocol/limits.ts';

const noTimers: Timers = { setTimeout: () => 0, clearTimeout: () => undefined };
const load = { blocked: 1, ready: 2, local: 3 };
const noLinks = { links: 0, bytes: 0 };
const result = (id: number, bytes: number): TaskOutcome => ({ id, ok: true, value: new Uint8Array(bytes) });
const subtask = (id: number, bytes: number): ReleasedTask => ({ id, bundle: 'b'.repeat(64), fn: 'leaf', args: new Uint8Array(bytes), scope: 's', under: { task: 9 } });

test("a result over the coordinator's limit fails alone with a tooLarge outcome naming both sizes; one at the limit goes as it is", () => {
  const outbox = new ReportOutbox(noTimers, () => undefined);
  outbox.limits = { ...DEFAULT_LIMITS, resultBytes: 100 };
  outbox.result(1 as GridTaskId, result(1, 100));
  outbox.result(2 as GridTaskId, result(2, 101));
  const [report] = outbox.take(load, noLinks, undefined);
  assert.deepEqual(report.results[0], result(1, 100));
  assert.deepEqual(report.results[1], {
    id: 2,
    ok: false,
    kind: 'tooLarge',
    error: { name: 'ResultTooLargeError', message: "the task's result is 101 bytes packed; a result may be at most 100 (return less, or split the work over more tasks)" },
  });
});

test('results and subtasks too large for one frame go in several, in order; the first carries the rest of the report, each states the load', () => {
  const report: PageReport = {
    t: 'report',
    started: [1, 2, 3],
    results: [result(1, 600), result(2, 600), result(3, 600)],
    lost: [4],
    submit: [subtask(-1, 600)],
    cancel: [-2],
    ...load,
  };
  const frames = splitReport(report, 1000);
  assert.deepEqual(
    frames.map((f) => [f.results.map((r) => r.id), f.submit.map((s) => s.id)]),
    [[[1], []], [[2], []], [[3], []], [[], [-1]]],
  );
  assert.deepEqual([frames[0].started, frames[0].lost, frames[0].cancel], [[1, 2, 3], [4], [-2]]);
  for (const f of frames.slice(1)) assert.deepEqual([f.started, f.lost, f.cancel], [[], [], []]);
  for (const f of frames) assert.deepEqual([f.blocked, f.ready, f.local], [1, 2, 3]);
  const small = { ...report, results: [result(1, 10), result(2, 10)], submit: [] };
  assert.equal(splitReport(small, 1000)[0], small, 'a report that fits goes as it is');
});

test('with a 1 MiB frame limit, 40 results of 100 KiB leave in frames the coordinator accepts, every result once', () => {
  const limits = coordinatorLimits({ maxPayload: 1024 * 1024 });
  const outbox = new ReportOutbox(noTimers, () => undefined);
  outbox.limits = limits;
  for (let i = 1; i <= 40; i++) outbox.result(i as GridTaskId, result(i, 100 * 1024));
  for (let i = 1; i <= 3; i++) outbox.submit(subtask(-i, 200 * 1024));
  const frames = outbox.take(load, noLinks, undefined);
  assert.ok(frames.length >= 5, `${frames.length} frames`);
  for (const f of frames) assert.ok(encodeFrame(f).byteLength <= limits.frameBytes, `a frame of ${encodeFrame(f).byteLength} bytes`);
  assert.deepEqual(
    frames.flatMap((f) => f.results.map((r) => r.id)),
    Array.from({ length: 40 }, (_, i) => i + 1),
  );
  assert.deepEqual(
    frames.flatMap((f) => f.submit.map((s) => s.id)),
    [-1, -2, -3],
  );
  assert.ok(frames.every((f) => f.results.every((r) => r.ok)), 'none was over the result limit');
});
