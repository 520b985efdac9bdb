// A Future is the handle of one task's eventual result, with the state
// machine of PEP 3148 (pending -> running -> finished, or pending -> cancelled)
// and PromiseLike so that `await future` works.
import { CancelledError, TimeoutError } from './errors.ts';
import { after } from './long-timer.ts';
import { unknownOptionError } from './inputs.ts';

export type FutureState = 'pending' | 'running' | 'finished' | 'cancelled';
export type DoneCallback<T> = (future: Future<T>) => void;

export interface WaitOptions {
  /** Milliseconds to wait; the future keeps running when it passes. */
  timeout?: number;
}

/** Called by `cancel()` while the future is pending; true if the work was withdrawn. */
export type Canceller = () => boolean;

export class Future<T> implements PromiseLike<T> {
  #state: FutureState = 'pending';
  #value: T | undefined;
  #error: unknown;
  #failed = false;
  #callbacks: DoneCallback<T>[] = [];
  #promise: Promise<T> | undefined;
  #settle: { resolve(v: T): void; reject(e: unknown): void } | undefined;
  #onRunning: (() => void)[] | undefined;
  readonly #canceller: Canceller | undefined;

  constructor(canceller?: Canceller) {
    this.#canceller = canceller;
  }

  get state(): FutureState {
    return this.#state;
  }

  done(): boolean {
    return this.#state === 'finished' || this.#state === 'cancelled';
  }
  running(): boolean {
    return this.#state === 'running';
  }
  cancelled(): boolean {
    return this.#state === 'cancelled';
  }
  /** True once finished with an exception (not by cancellation). */
  failed(): boolean {
    return this.#state === 'finished' && this.#failed;
  }

  /** Withdraws a task that has not started (PEP 3148): true if it is (now)
   * cancelled, and the future rejects with CancelledError; false once it
   * runs (it was handed to a Web Worker) or has finished. */
  cancel(): boolean {
    if (this.#state === 'cancelled') return true;
    if (this.#state !== 'pending') return false;
    if (this.#canceller && !this.#canceller()) return false;
    this.#finish('cancelled', undefined, new CancelledError('the future was cancelled'), true);
    return true;
  }

  then<A = T, B = never>(
    onFulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.#asPromise().then(onFulfilled, onRejected);
  }

  /** The result; rejects with the task's error, CancelledError, or
   * TimeoutError when `timeout` passes first (the future is left running). */
  result(options: WaitOptions = {}): Promise<T> {
    const unknown = unknownOptionError('a result', options, ['timeout']);
    if (unknown) return Promise.reject(new TypeError(unknown));
    if (options.timeout === undefined || this.done()) return this.#asPromise();
    return withTimeout(this.#asPromise(), options.timeout);
  }

  /** The error the task failed with, or undefined if it succeeded. Rejects with
   * CancelledError for a cancelled future, TimeoutError when `timeout` passes
   * first. A task that failed with a TimeoutError of its own (it ran past its
   * `timeout` option) has it returned, like any other error of a task. */
  async exception(options: WaitOptions = {}): Promise<unknown> {
    const unknown = unknownOptionError('an exception', options, ['timeout']);
    if (unknown) throw new TypeError(unknown);
    try {
      await this.result(options);
      return undefined;
    } catch (e) {
      if (this.failed()) return e;
      throw e;
    }
  }

  /** Runs `fn(future)` when the future is done, or at once if it already is.
   * A callback that throws is reported on stderr and does not affect others. */
  addDoneCallback(fn: DoneCallback<T>): void {
    if (this.done()) this.#invoke(fn);
    else this.#callbacks.push(fn);
  }

  // ---- for the SDK: state changes reported by the grid ----

  /** @internal */
  setRunning(): void {
    if (this.#state !== 'pending') return;
    this.#state = 'running';
    const listeners = this.#onRunning;
    this.#onRunning = undefined;
    if (listeners) for (const fn of listeners) fn();
  }
  /** @internal `fn` runs once when the future starts running (at once if it
   * runs now; never if it ends first). For futures that stand for part of
   * another's work: a chunk's calls. */
  onRunning(fn: () => void): void {
    if (this.#state === 'running') fn();
    else if (this.#state === 'pending') (this.#onRunning ??= []).push(fn);
  }
  /** @internal */
  setResult(value: T): void {
    this.#finish('finished', value, undefined, false);
  }
  /** @internal */
  setException(error: unknown): void {
    this.#finish('finished', undefined, error, true);
  }

  #finish(state: FutureState, value: T | undefined, error: unknown, failed: boolean): void {
    if (this.done()) return; // exactly once: late duplicates are ignored
    this.#state = state;
    this.#onRunning = undefined;
    this.#value = value;
    this.#error = error;
    this.#failed = failed;
    if (this.#settle) {
      if (failed) this.#settle.reject(error);
      else this.#settle.resolve(value as T);
    }
    const callbacks = this.#callbacks;
    this.#callbacks = [];
    for (const fn of callbacks) this.#invoke(fn);
  }

  #invoke(fn: DoneCallback<T>): void {
    try {
      fn(this);
    } catch (e) {
      console.error('ladle: a done callback threw:', e);
    }
  }

  // The promise is made on first use so an unobserved failure is not an
  // unhandled rejection.
  #asPromise(): Promise<T> {
    if (!this.#promise) {
      if (this.done()) {
        this.#promise = this.#failed ? Promise.reject(this.#error) : Promise.resolve(this.#value as T);
      } else {
        this.#promise = new Promise<T>((resolve, reject) => (this.#settle = { resolve, reject }));
      }
    }
    return this.#promise;
  }
}

export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  if (!(typeof ms === 'number' && ms >= 0)) return Promise.reject(new TypeError(`timeout must be a number of milliseconds >= 0, not ${String(ms)}`));
  return new Promise<T>((resolve, reject) => {
    const cancel = after(ms, () => reject(new TimeoutError(`no result within ${ms} ms`)));
    promise.then(
      (v) => {
        cancel();
        resolve(v);
      },
      (e) => {
        cancel();
        reject(e);
      },
    );
  });
}
