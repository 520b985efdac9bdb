// asCompleted and wait, driven by futures settled by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Future } from '../../futures/future.ts';
import { TimeoutError } from '../../futures/errors.ts';
import { asCompleted, wait, type ReturnWhen } from '../../futures/waiting.ts';
import { tick, prng } from '../helpers/futures.ts';

function shuffled<T>(xs: readonly T[], random: () => number): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Counts the timers the code under test leaves running. */
function trackTimers(t: { mock: { method: typeof import('node:test').mock.method } }): Set<unknown> {
  const live = new Set<unknown>();
  const realSet = globalThis.setTimeout;
  const realClear = globalThis.clearTimeout;
  t.mock.method(globalThis, 'setTimeout', ((fn: () => void, ms?: number) => {
    const handle: unknown = realSet(() => {
      live.delete(handle);
      fn();
    }, ms);
    live.add(handle);
    return handle;
  }) as typeof setTimeout);
  t.mock.method(globalThis, 'clearTimeout', ((handle: Parameters<typeof clearTimeout>[0]) => {
    live.delete(handle);
    realClear(handle);
  }) as typeof clearTimeout);
  return live;
}

/** A clock for the code under test: performance.now and setTimeout move only when the test advances them. */
function fakeClock(t: { mock: { method: typeof import('node:test').mock.method } }): { advance(ms: number): void } {
  let now = 0;
  let nextId = 1;
  const timers = new Map<number, { at: number; fn: () => void }>();
  t.mock.method(performance, 'now', () => now);
  t.mock.method(globalThis, 'setTimeout', ((fn: () => void, ms = 0) => {
    timers.set(nextId, { at: now + ms, fn });
    return nextId++;
  }) as unknown as typeof setTimeout);
  t.mock.method(globalThis, 'clearTimeout', ((id: number) => void timers.delete(id)) as unknown as typeof clearTimeout);
  return {
    advance(ms) {
      now += ms;
      for (const [id, timer] of [...timers].sort((a, b) => a[1].at - b[1].at)) {
        if (timer.at > now) break;
        timers.delete(id);
        timer.fn();
      }
    },
  };
}

/** Whether a promise has settled, without waiting for it. */
function settledFlag(p: Promise<unknown>): () => boolean {
  let settled = false;
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  return () => settled;
}

class CountingFuture<T> extends Future<T> {
  callbacks = 0;
  override addDoneCallback(fn: (f: Future<T>) => void): void {
    this.callbacks++;
    super.addDoneCallback(fn);
  }
}

test('asCompleted yields the 30 Future objects in the order they settle; values sum to 9455', { timeout: 10_000 }, async () => {
  const futures = Array.from({ length: 30 }, () => new Future<number>());
  const order = shuffled(
    futures.map((f, i) => ({ f, value: (i + 1) * (i + 1) })),
    prng(30),
  );
  const settling = (async () => {
    for (const { f, value } of order) {
      await tick();
      f.setResult(value);
    }
  })();
  const yielded: Future<number>[] = [];
  let total = 0;
  for await (const f of asCompleted(futures)) {
    assert.ok(f instanceof Future, 'yields the Future, not its value');
    assert.equal(f.done(), true);
    yielded.push(f);
    total += await f.result();
  }
  await settling;
  assert.deepEqual(yielded, order.map((o) => o.f));
  assert.equal(total, 9455);
});

test('asCompleted: done futures first, duplicates once, a cancelled future counts as completed', { timeout: 10_000 }, async () => {
  const a = new Future<string>(() => true);
  const b = new Future<string>();
  const c = new Future<string>(() => true);
  b.setResult('b');
  const it = asCompleted([a, b, a, c, b])[Symbol.asyncIterator]();
  assert.equal((await it.next()).value, b);
  const second = it.next();
  c.cancel();
  assert.equal((await second).value, c);
  a.setResult('a');
  assert.equal((await it.next()).value, a);
  assert.deepEqual(await it.next(), { done: true, value: undefined });
});

test('asCompleted rejects with TimeoutError naming how many are pending; the futures go on', { timeout: 10_000 }, async (t) => {
  const clock = fakeClock(t);
  const slow = new Future<number>();
  const other = new Future<number>();
  const quick = new Future<number>();
  quick.setResult(1);
  const it = asCompleted([slow, quick, other], { timeout: 30 })[Symbol.asyncIterator]();
  assert.equal((await it.next()).value, quick);
  const next = it.next();
  const settled = settledFlag(next);
  clock.advance(29);
  await tick();
  assert.equal(settled(), false, 'it waits for the timeout');
  clock.advance(1);
  await assert.rejects(next, (e: unknown) => e instanceof TimeoutError && /2 of 3/.test(e.message));
  assert.equal(slow.done(), false, 'the timeout does not cancel the futures');
  assert.deepEqual(await it.next(), { done: true, value: undefined }, 'the iteration is over after a timeout');
});

test('asCompleted: the timeout counts from the call, not from the first next()', { timeout: 10_000 }, async (t) => {
  const clock = fakeClock(t);
  const iterable = asCompleted([new Future<number>()], { timeout: 30 });
  clock.advance(40); // the deadline passes before iterating
  // The clock stands still from here: only the spent 30 ms can reject it.
  await assert.rejects(iterable[Symbol.asyncIterator]().next(), TimeoutError);
});

test('asCompleted: a timer runs only while a next() waits; return() ends a waiting next() and leaves no timer', { timeout: 10_000 }, async (t) => {
  const live = trackTimers(t);
  const yielded = new Future<number>();
  const f = new CountingFuture<number>();
  const iterable = asCompleted([yielded, f], { timeout: 10_000 });
  assert.equal(live.size, 0, 'no timer until a next() waits');
  const it = iterable[Symbol.asyncIterator]();
  const first = it.next();
  assert.equal(live.size, 1, 'a timer runs while a next() waits');
  yielded.setResult(0);
  assert.equal((await first).value, yielded);
  assert.equal(live.size, 0, 'and stops when nobody waits');
  const waiting = it.next();
  assert.equal(live.size, 1);
  assert.deepEqual(await it.return!(), { done: true, value: undefined });
  assert.deepEqual(await waiting, { done: true, value: undefined });
  assert.equal(live.size, 0, 'return() cleared the timer');
  f.setResult(1);
  assert.deepEqual(await it.next(), { done: true, value: undefined }, 'nothing is yielded after return()');

  const expired = asCompleted([new Future<number>()], { timeout: 0 })[Symbol.asyncIterator]();
  await assert.rejects(expired.next(), TimeoutError);
  assert.equal(live.size, 0);
});

test('asCompleted validates its timeout and ends at once on no futures', { timeout: 10_000 }, async () => {
  assert.throws(() => asCompleted([], { timeout: -1 }), TypeError);
  assert.throws(() => asCompleted([], { timeout: Number.NaN }), TypeError);
  assert.deepEqual(await asCompleted([])[Symbol.asyncIterator]().next(), { done: true, value: undefined });
});

test('wait on 1,000 futures, half settled: timeouts 0 and 100 ms partition them; ALL_COMPLETED gets all', { timeout: 10_000 }, async (t) => {
  const clock = fakeClock(t);
  const futures = Array.from({ length: 1000 }, () => new Future<number>());
  futures.forEach((f, i) => i % 2 === 0 && f.setResult(i));
  for (const timeout of [0, 100]) {
    const waiting = wait(futures, { timeout });
    if (timeout === 100) {
      const settled = settledFlag(waiting);
      clock.advance(99);
      await tick();
      assert.equal(settled(), false, 'timeout 100 waits');
      clock.advance(1);
    }
    const { done, notDone } = await waiting;
    assert.equal(done.size + notDone.size, 1000);
    assert.equal(done.size, 500);
    for (const f of done) assert.equal(f.done(), true);
    for (const f of notDone) assert.equal(f.done(), false);
  }
  let looked = false;
  void wait(futures, { timeout: 0 }).then(() => (looked = true));
  for (let i = 0; i < 5; i++) await Promise.resolve();
  assert.equal(looked, true, 'timeout 0 answers within a few microtasks, with no timer');
  const all = wait(futures);
  await tick();
  futures.forEach((f, i) => i % 2 === 1 && f.setException(new Error(`odd ${i}`)));
  const { done, notDone } = await all;
  assert.equal(done.size, 1000, 'failed futures are done, and do not reject wait');
  assert.equal(notDone.size, 0);
});

test('wait FIRST_COMPLETED returns when any one is done', { timeout: 10_000 }, async () => {
  const a = new Future<number>();
  const b = new Future<number>();
  const first = wait([a, b], { returnWhen: 'FIRST_COMPLETED' });
  setImmediate(() => b.setResult(2));
  const { done, notDone } = await first;
  assert.deepEqual([...done], [b]);
  assert.deepEqual([...notDone], [a]);
  const again = await wait([a, b], { returnWhen: 'FIRST_COMPLETED' });
  assert.deepEqual([...again.done], [b], 'one already done: returns at once');
});

test('wait FIRST_EXCEPTION returns at the first exception while others pend; cancelled and successes do not count', { timeout: 10_000 }, async () => {
  const ok = new Future<number>();
  const cancelled = new Future<number>(() => true);
  const thrower = new Future<number>();
  const slow = new Future<number>();
  let returned = false;
  const first = wait([ok, cancelled, thrower, slow], { returnWhen: 'FIRST_EXCEPTION' }).then((r) => {
    returned = true;
    return r;
  });
  cancelled.cancel();
  ok.setResult(1);
  for (let i = 0; i < 5; i++) await tick();
  assert.equal(returned, false, 'a cancellation and a success do not end FIRST_EXCEPTION');
  thrower.setException(new Error('first exception'));
  const { done, notDone } = await first;
  assert.deepEqual(new Set(done), new Set([ok, cancelled, thrower]));
  assert.deepEqual([...notDone], [slow]);

  const failedBefore = await wait([thrower, slow], { returnWhen: 'FIRST_EXCEPTION' });
  assert.deepEqual([...failedBefore.notDone], [slow], 'an exception already there: returns at once');
});

test('wait FIRST_EXCEPTION with no exception is ALL_COMPLETED', { timeout: 10_000 }, async () => {
  const a = new Future<number>(() => true);
  const b = new Future<number>();
  const all = wait([a, b], { returnWhen: 'FIRST_EXCEPTION' });
  a.cancel();
  setImmediate(() => b.setResult(1));
  const { done, notDone } = await all;
  assert.equal(done.size, 2);
  assert.equal(notDone.size, 0);
});

test('wait with a timeout resolves with what is done by then', { timeout: 10_000 }, async () => {
  const a = new Future<number>();
  const b = new Future<number>();
  const partial = wait([a, b], { timeout: 30 });
  a.setResult(1);
  const { done, notDone } = await partial;
  assert.deepEqual([...done], [a]);
  assert.deepEqual([...notDone], [b]);
});

test('wait validates returnWhen and timeout, and dedupes its input', { timeout: 10_000 }, async () => {
  await assert.rejects(wait([], { returnWhen: 'ANY_COMPLETED' as ReturnWhen }), (e: unknown) => e instanceof TypeError && /FIRST_EXCEPTION/.test(e.message));
  await assert.rejects(wait([], { timeout: -5 }), TypeError);
  const f = new Future<number>();
  f.setResult(1);
  const { done, notDone } = await wait([f, f, f]);
  assert.equal(done.size, 1);
  assert.equal(notDone.size, 0);
  const empty = await wait([]);
  assert.equal(empty.done.size + empty.notDone.size, 0);
});

test('polling wait with a timeout adds one done callback per future, not one per call, and leaves no timer', { timeout: 10_000 }, async (t) => {
  const live = trackTimers(t);
  const f = new CountingFuture<number>();
  for (let i = 0; i < 20; i++) {
    const { notDone } = await wait([f], { timeout: 1 });
    assert.equal(notDone.size, 1);
  }
  assert.equal(f.callbacks, 1);
  const ending = wait([f], { timeout: 10_000 });
  f.setResult(1);
  assert.equal((await ending).done.size, 1);
  assert.equal(live.size, 0, 'the timeout timer is cleared when the wait ends early');
});

test('wait and asCompleted accept futures of mixed value types', { timeout: 10_000 }, async () => {
  const n = new Future<number>();
  const s = new Future<never>();
  n.setResult(1);
  s.setException(new Error('never'));
  const { done } = await wait([n, s]);
  assert.equal(done.size, 2);
  const seen = new Set<unknown>();
  for await (const f of asCompleted([n, s])) seen.add(f);
  assert.deepEqual(seen, new Set([n, s]));
});
