// asCompleted and wait over futures from anywhere (PEP 3148's as_completed
// and wait). Runtime-agnostic: bundled into the Web Worker runtime too.
import { TimeoutError } from './errors.ts';
import { after } from './long-timer.ts';
import { Queue } from './queue.ts';
import { unknownOptionError } from './inputs.ts';

export type ReturnWhen = 'ALL_COMPLETED' | 'FIRST_COMPLETED' | 'FIRST_EXCEPTION';
const RETURN_WHEN: readonly ReturnWhen[] = ['ALL_COMPLETED', 'FIRST_COMPLETED', 'FIRST_EXCEPTION'];

/** What asCompleted and wait use of a Future. Structural because Future<T>
 * is invariant in T: no Future<X>, not even Future<any>, accepts both a
 * Future<number> and a Future<never>, and one call may mix them. */
export interface FutureLike {
  done(): boolean;
  cancelled(): boolean;
  addDoneCallback(fn: () => void): void;
  then(onFulfilled: undefined, onRejected: (reason: unknown) => void): unknown;
}

// A Future's done callbacks cannot be removed, so a wait that times out, or a
// caller polling wait() in a loop, would leave one callback per call on every
// future. Instead each future carries one dispatching callback, and listeners
// come and go from its set.
const listeners = new WeakMap<object, Set<() => void>>();

function onDone(future: FutureLike, fn: () => void): () => void {
  if (future.done()) {
    fn();
    return () => undefined;
  }
  let set = listeners.get(future);
  if (!set) {
    const fresh = new Set<() => void>();
    listeners.set(future, (set = fresh));
    future.addDoneCallback(() => {
      listeners.delete(future);
      for (const f of fresh) f();
    });
  }
  set.add(fn);
  return () => void set.delete(fn);
}

/** Calls `fn` once `future` (already done) turns out to have raised, not been cancelled.
 * Goes through the promise because a Future has no synchronous accessor for it. */
function ifFailed(future: FutureLike, fn: () => void): void {
  future.then(undefined, () => {
    if (!future.cancelled()) fn();
  });
}

function checkTimeout(timeout: number | undefined): void {
  if (timeout !== undefined && !(typeof timeout === 'number' && timeout >= 0)) {
    throw new TypeError(`timeout must be a number of milliseconds >= 0, not ${String(timeout)}`);
  }
}

/** A future as asCompleted yields it: the Future itself, typed without `then`.
 * TypeScript types a for-await element as if it were awaited
 * (microsoft/TypeScript#21115), so a plain Future<T> element would be typed
 * as its value T while at run time it is the Future. Without `then` the loop
 * variable is typed as the Future it is; read its value with `f.result()`. */
export type Completed<F> = F & { then: never };

type Step<F> = IteratorResult<Completed<F>, undefined>;

/** Throws a TypeError for an option these calls do not know (Python's `return_when`, say). */
function checkKeys(what: string, options: object, known: readonly string[]): void {
  const unknown = unknownOptionError(what, options, known);
  if (unknown) throw new TypeError(unknown);
}

/** Yields each future itself (not its value) as it completes, those already
 * done first. `timeout` ms count from this call; once they pass with futures
 * still pending, next() rejects with TimeoutError. Duplicates come once. */
export function asCompleted<F extends FutureLike>(
  futures: Iterable<F>,
  options: { timeout?: number } = {},
): AsyncIterable<Completed<F>> {
  checkKeys('an asCompleted', options, ['timeout']);
  const { timeout } = options;
  checkTimeout(timeout);
  const deadline = timeout === undefined ? Infinity : performance.now() + timeout;
  const all = new Set(futures);
  const ready = new Queue<F>();
  const unsubscribe: (() => void)[] = [];
  let pending = 0;
  let waiters: { resolve(step: Step<F>): void; reject(e: unknown): void }[] = [];
  let cancelTimer: (() => void) | undefined;
  let stopped = false;

  const stop = (): void => {
    stopped = true;
    cancelTimer?.();
    for (const off of unsubscribe) off();
    unsubscribe.length = 0;
    ready.clear();
    for (const w of waiters.splice(0)) w.resolve({ done: true, value: undefined });
  };
  // Resolving with an object whose `value` is a Future does not adopt it:
  // only the step object itself is checked for `then`.
  const take = (): Step<F> => ({ done: false, value: ready.shift() as Completed<F> });

  for (const f of all) {
    if (f.done()) {
      ready.push(f);
      continue;
    }
    pending++;
    unsubscribe.push(
      onDone(f, () => {
        pending--;
        ready.push(f);
        const w = waiters.shift();
        if (w) w.resolve(take());
        if (waiters.length === 0) cancelTimer?.();
      }),
    );
  }

  const timedOut = () => new TimeoutError(`${pending} of ${all.size} futures still pending after ${timeout} ms`);
  const expire = (): void => {
    const error = timedOut();
    const rejected = waiters;
    waiters = [];
    stop();
    for (const w of rejected) w.reject(error);
  };

  const iterator: AsyncIterableIterator<Completed<F>> = {
    next(): Promise<Step<F>> {
      if (ready.size > 0) return Promise.resolve(take());
      if (stopped || pending === 0) {
        stop();
        return Promise.resolve({ done: true, value: undefined });
      }
      if (performance.now() >= deadline) {
        const error = timedOut();
        stop();
        return Promise.reject(error);
      }
      return new Promise<Step<F>>((resolve, reject) => {
        waiters.push({ resolve, reject });
        // The timer only runs while someone waits, so an abandoned iterator holds no timer.
        if (waiters.length === 1 && deadline !== Infinity) cancelTimer = after(deadline - performance.now(), expire);
      });
    },
    async return(): Promise<Step<F>> {
      stop();
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  return iterator;
}

/** Waits for futures by PEP 3148's rules and partitions them into done and
 * notDone. On timeout it resolves with what is done so far (0: look, don't wait).
 * It never rejects because a future failed. */
export async function wait<F extends FutureLike>(
  futures: Iterable<F>,
  options: { timeout?: number; returnWhen?: ReturnWhen } = {},
): Promise<{ done: Set<F>; notDone: Set<F> }> {
  checkKeys('a wait', options, ['timeout', 'returnWhen']);
  const { timeout, returnWhen = 'ALL_COMPLETED' } = options;
  checkTimeout(timeout);
  if (!RETURN_WHEN.includes(returnWhen)) {
    throw new TypeError(`returnWhen must be one of ${RETURN_WHEN.join(', ')}, not ${String(returnWhen)}`);
  }
  const all = new Set(futures);
  const partition = () => {
    const done = new Set<F>();
    const notDone = new Set<F>();
    for (const f of all) (f.done() ? done : notDone).add(f);
    return { done, notDone };
  };

  let pending = 0;
  for (const f of all) if (!f.done()) pending++;
  if (pending === 0 || timeout === 0) return partition();
  if (returnWhen === 'FIRST_COMPLETED' && pending < all.size) return partition();

  return new Promise((resolve) => {
    const unsubscribe: (() => void)[] = [];
    let finished = false;
    let cancelTimer: (() => void) | undefined;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      cancelTimer?.();
      for (const off of unsubscribe) off();
      resolve(partition());
    };
    const settled = (f: F): void => {
      if (returnWhen === 'FIRST_COMPLETED' || pending === 0) finish();
      else if (returnWhen === 'FIRST_EXCEPTION') ifFailed(f, finish);
    };

    for (const f of all) {
      if (f.done()) settled(f);
      else
        unsubscribe.push(
          onDone(f, () => {
            pending--;
            settled(f);
          }),
        );
    }
    if (timeout !== undefined && !finished) cancelTimer = after(timeout, finish);
  });
}
