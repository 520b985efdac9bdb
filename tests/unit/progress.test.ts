// Progress reporting: known lengths, throttled callbacks, the terminal bar.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatProgress, knownLength, progressTracker, type ProgressInfo } from '../../futures/progress.ts';

function fakeTerminal(isTTY = true) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, write: (s: string) => writes.push(s) } };
}

test('knownLength is the shortest length or size, or undefined if any input has none', { timeout: 10_000 }, () => {
  assert.equal(knownLength([[1, 2, 3], new Set([1, 2]), new Uint8Array(5)]), 2);
  assert.equal(knownLength([new Map([[1, 1]])]), 1);
  assert.equal(knownLength([[]]), 0);
  function* gen() {
    yield 1;
  }
  assert.equal(knownLength([[1, 2], gen()]), undefined);
  assert.equal(knownLength([]), undefined);
});

test('no tracker unless there is somewhere to report', { timeout: 10_000 }, () => {
  assert.equal(progressTracker({}, 10), undefined);
  assert.equal(progressTracker({ progress: false }, 10, fakeTerminal().stream), undefined);
  assert.ok(progressTracker({ progress: true }, 10, fakeTerminal(false).stream), 'stderr is not a terminal: plain lines');
  assert.ok(progressTracker({ progress: true }, 10, fakeTerminal().stream));
  assert.ok(progressTracker({ onProgress: () => undefined }));
  assert.throws(() => progressTracker({ onProgress: 'yes' as unknown as () => void }), TypeError);
});

test('onProgress is throttled to one call per 100 ms, reports the end of a burst, and is called once at finish', { timeout: 10_000 }, (t) => {
  // The tracker's clock and its timer move only when the test says.
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let now = 0;
  const advance = (ms: number) => {
    now += ms;
    t.mock.timers.tick(ms);
  };
  const calls: { p: ProgressInfo; at: number }[] = [];
  const tracker = progressTracker({ onProgress: (p) => calls.push({ p, at: now }) }, 1000, undefined, () => now)!;
  advance(1);
  for (let i = 0; i < 1000; i++) tracker.taskDone(i % 10 === 0);
  assert.equal(calls.length, 1, 'a burst in one turn calls once');
  assert.equal(calls[0].p.done, 1);
  assert.equal(calls[0].p.elapsedMs, 1, 'elapsed time is read from the injected clock');
  assert.equal(calls[0].p.rate, 1000, 'one task in 1 ms is 1000 tasks/s');
  assert.equal(calls[0].p.etaMs, 999, '999 tasks left at 1000 tasks/s');

  advance(99);
  assert.equal(calls.length, 1, 'no second call within the interval');
  advance(1);
  assert.equal(calls.length, 2, 'the trailing call comes once the interval is out');
  assert.equal(calls[1].at - calls[0].at, 100);
  assert.equal(calls[1].p.done, 1000, 'the trailing call reports the end of the burst');
  assert.equal(calls[1].p.failed, 100);

  tracker.finish();
  assert.equal(calls.length, 3, 'finish reports at once, however recent the last call');
  const last = calls[2].p;
  assert.equal(last.done, 1000);
  assert.equal(last.total, 1000);
  assert.equal(last.etaMs, 0);
  assert.equal(last.elapsedMs, 101);
  assert.equal(last.rate, (1000 * 1000) / 101);
  tracker.taskDone(false);
  tracker.finish();
  assert.equal(calls.length, 3, 'nothing after finish');
});

test('finish cancels a pending trailing call', { timeout: 10_000 }, (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const seen: number[] = [];
  const tracker = progressTracker({ onProgress: (p) => seen.push(p.done) })!;
  tracker.taskDone(false);
  tracker.taskDone(false);
  tracker.finish();
  t.mock.timers.tick(1000);
  assert.deepEqual(seen, [1, 2]);
});

test('without a total there is no ETA; a throwing onProgress does not break the caller', { timeout: 10_000 }, (t) => {
  t.mock.method(console, 'error', () => undefined);
  const seen: ProgressInfo[] = [];
  const tracker = progressTracker({
    onProgress: (p) => {
      seen.push(p);
      throw new Error('reporter broke');
    },
  })!;
  tracker.taskDone(false);
  tracker.finish();
  assert.equal(seen.length, 2);
  assert.equal(seen[1].total, undefined);
  assert.equal(seen[1].etaMs, undefined);
});

test('progress: true redraws one line with \\r on a terminal and ends with a newline', { timeout: 10_000 }, () => {
  const { writes, stream } = fakeTerminal();
  const tracker = progressTracker({ progress: true }, 10, stream)!;
  assert.match(writes[0], /^\r\[-+\] 0\/10 +0%/, 'drawn before the first task is done');
  for (let i = 0; i < 3; i++) tracker.taskDone(false);
  assert.equal(writes.length, 2, 'redraws are throttled');
  assert.match(writes[1], /^\r\[#+-+\] 1\/10 +10%/);
  tracker.finish();
  assert.match(writes.at(-2), /^\r\[#+-+\] 3\/10 +30% .*\/s  ETA \d+s/);
  assert.equal(writes.at(-1), '\n');
  assert.ok(writes.slice(0, -1).every((w) => w.startsWith('\r') && !w.includes('\n')), 'one line, redrawn in place');
});

test('formatProgress: bar, percent, rate, ETA; count and rate without a total', { timeout: 10_000 }, () => {
  assert.equal(
    formatProgress({ done: 420, failed: 0, total: 1000, elapsedMs: 3400, rate: 123.4, etaMs: 4700 }),
    '[##########--------------] 420/1000  42%  123/s  ETA 5s',
  );
  assert.equal(formatProgress({ done: 5, failed: 2, elapsedMs: 2000, rate: 2.5 }), '5 done  2.5/s  2 failed');
  assert.match(formatProgress({ done: 1, failed: 0, total: 100000, elapsedMs: 1000, rate: 1, etaMs: 99_999_000 }), /ETA 27h46m$/);
  assert.match(formatProgress({ done: 0, failed: 0, total: 0, elapsedMs: 0, rate: 0 }), /^\[#{24}\] 0\/0 100%/);
});

/** A clock the test moves by hand. */
function manualClock(start = 1000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

test('progress: true off a terminal prints a plain line each tenth and at the end, no bar and no \\r', { timeout: 10_000 }, () => {
  const { writes, stream } = fakeTerminal(false);
  const clock = manualClock();
  const tracker = progressTracker({ progress: true }, 100, stream, clock.now)!;
  assert.equal(writes.length, 0, 'nothing before a task is done');
  for (let i = 0; i < 100; i++) {
    clock.advance(10);
    tracker.taskDone(i === 50);
  }
  assert.equal(writes.length, 10, 'one line per tenth');
  assert.equal(writes[0], 'ladle map: 10/100 (10%)  100/s  ETA 1s\n');
  assert.equal(writes[9], 'ladle map: 100/100 (100%)  100/s  ETA 0s  1 failed\n');
  tracker.finish();
  assert.equal(writes.length, 10, 'the last line said it all already');
  const short = fakeTerminal(false);
  const few = progressTracker({ progress: true }, 100, short.stream, clock.now)!;
  clock.advance(100);
  few.taskDone(false);
  few.finish();
  assert.deepEqual(short.writes, ['ladle map: 1/100 (1%)  10/s  ETA 10s\n'], 'a line at the end');
  assert.ok(writes.every((w) => !w.includes('\r') && !w.includes('[') && w.endsWith('\n') && w.indexOf('\n') === w.length - 1));
});

test('off a terminal without a total, a plain line every 5 s while tasks finish', { timeout: 10_000 }, () => {
  const { writes, stream } = fakeTerminal(false);
  const clock = manualClock();
  const tracker = progressTracker({ progress: true }, undefined, stream, clock.now)!;
  for (let i = 0; i < 32; i++) {
    clock.advance(1000);
    tracker.taskDone(false);
  }
  assert.deepEqual(writes, ['ladle map: 5 done  1.0/s\n', 'ladle map: 10 done  1.0/s\n', 'ladle map: 15 done  1.0/s\n', 'ladle map: 20 done  1.0/s\n', 'ladle map: 25 done  1.0/s\n', 'ladle map: 30 done  1.0/s\n']);
  assert.equal(writes.length, 6);
  tracker.finish();
  assert.equal(writes.at(-1), 'ladle map: 32 done  1.0/s\n', 'a line at the end');
});

test('the total option gives a generator a total, percentage and ETA; a bad total is refused', { timeout: 10_000 }, () => {
  const seen: ProgressInfo[] = [];
  const clock = manualClock();
  const tracker = progressTracker({ total: 4, onProgress: (p) => seen.push(p) }, undefined, undefined, clock.now)!;
  clock.advance(500);
  tracker.taskDone(false);
  assert.equal(seen[0].total, 4);
  assert.equal(seen[0].etaMs, 1500);
  const overriding = progressTracker({ total: 8, onProgress: (p) => seen.push(p) }, 3, undefined, clock.now)!;
  overriding.finish();
  assert.equal(seen.at(-1).total, 8, 'the option wins over a length it could read');
  for (const bad of [-1, 1.5, '10', Number.NaN]) {
    assert.throws(() => progressTracker({ total: bad as number, onProgress: () => undefined }), /total must be a whole number/);
  }
  const { writes, stream } = fakeTerminal();
  progressTracker({ progress: true, total: 50 }, undefined, stream, clock.now);
  assert.match(writes[0], /^\r\[-+\] 0\/50 +0%/, 'the bar shows it too');
});
