import { test } from 'node:test';
import assert from 'node:assert/strict';
import { after, MAX_TIMER_MS, type TimerHost } from '../../futures/long-timer.ts';
import { Future } from '../../futures/future.ts';
import { TimeoutError } from '../../futures/errors.ts';
import { asCompleted, wait } from '../../futures/waiting.ts';

/** A fake clock: timers fire only when the test advances time. */
function fakeTimers() {
  let now = 0;
  let next = 1;
  const pending = new Map<number, { at: number; fn: () => void; ms: number }>();
  const delays: number[] = [];
  const host: TimerHost = {
    now: () => now,
    setTimeout(fn, ms) {
      delays.push(ms);
      pending.set(next, { at: now + ms, fn, ms });
      return next++;
    },
    clearTimeout(handle) {
      pending.delete(handle as number);
    },
  };
  const advance = (ms: number) => {
    const until = now + ms;
    for (;;) {
      const due = [...pending].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      pending.delete(due[0]);
      now = due[1].at;
      due[1].fn();
    }
    now = until;
  };
  return { host, advance, delays, pending };
}

test('a delay past 2**31-1 ms does not fire early: it is made of delays setTimeout honours', () => {
  const t = fakeTimers();
  let fired = 0;
  after(2 ** 31, () => fired++, t.host);
  assert.ok(t.delays.every((ms) => ms >= 0 && ms <= MAX_TIMER_MS), `delays ${t.delays.join(', ')}`);
  t.advance(MAX_TIMER_MS);
  assert.equal(fired, 0);
  t.advance(1);
  assert.equal(fired, 1);
  assert.ok(t.delays.every((ms) => ms >= 0 && ms <= MAX_TIMER_MS), `delays ${t.delays.join(', ')}`);
});

test('three times the maximum fires once, at the end', () => {
  const t = fakeTimers();
  let fired = 0;
  after(3 * MAX_TIMER_MS + 5, () => fired++, t.host);
  t.advance(3 * MAX_TIMER_MS + 4);
  assert.equal(fired, 0);
  t.advance(1);
  assert.equal(fired, 1);
  t.advance(10 * MAX_TIMER_MS);
  assert.equal(fired, 1);
});

test('Infinity never fires and sets no timer', () => {
  const t = fakeTimers();
  let fired = 0;
  after(Infinity, () => fired++, t.host);
  assert.equal(t.pending.size, 0);
  assert.equal(fired, 0);
});

test('short delays fire on time, and cancel stops a long one mid-way', () => {
  const t = fakeTimers();
  let fired = 0;
  after(10, () => fired++, t.host);
  t.advance(10);
  assert.equal(fired, 1);
  const cancel = after(2 ** 33, () => fired++, t.host);
  t.advance(MAX_TIMER_MS + 1);
  cancel();
  t.advance(2 ** 34);
  assert.equal(fired, 1);
  assert.equal(t.pending.size, 0);
});

// The SDK's waits with user durations: none hands setTimeout more than it honours.

/** Records the delays given to setTimeout and never runs the callbacks. */
function recordDelays(t: { mock: { method: typeof import('node:test').mock.method } }): number[] {
  const delays: number[] = [];
  t.mock.method(globalThis, 'setTimeout', ((_fn: () => void, ms?: number) => {
    delays.push(ms ?? 0);
    return { unref() {} } as unknown as ReturnType<typeof setTimeout>;
  }) as unknown as typeof setTimeout);
  t.mock.method(globalThis, 'clearTimeout', (() => undefined) as typeof clearTimeout);
  return delays;
}

const settledYet = async (p: Promise<unknown>) => {
  let settled = false;
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  await new Promise((r) => setImmediate(r));
  return settled;
};

for (const timeout of [2 ** 31, 2 ** 40, Infinity]) {
  test(`future.result, asCompleted and wait with a timeout of ${timeout} ms wait instead of firing at once`, async (t) => {
    const delays = recordDelays(t);
    const f = new Future<number>();
    const result = f.result({ timeout });
    const completed = asCompleted([f], { timeout })[Symbol.asyncIterator]().next();
    const waited = wait([f], { timeout });
    assert.equal(await settledYet(result), false);
    assert.equal(await settledYet(completed), false);
    assert.equal(await settledYet(waited), false);
    assert.ok(delays.every((ms) => ms <= 2 ** 31 - 1), `setTimeout got ${delays.join(', ')}`);
    f.setResult(4);
    assert.equal(await result, 4);
    assert.equal((await waited).done.size, 1);
  });
}

test('a short timeout on future.result still rejects with TimeoutError, and a bad one with TypeError', async () => {
  const f = new Future<number>();
  await assert.rejects(f.result({ timeout: 1 }), TimeoutError);
  await assert.rejects(f.result({ timeout: -1 }), TypeError);
  await assert.rejects(f.result({ timeout: Number.NaN }), TypeError);
});
