// The value of grid.mapAsCompleted: an async iterable of the results in the
// order they complete. Like MapResult it keeps at most `inFlight` tasks
// submitted and not yet yielded, so a huge or endless input streams in
// bounded memory. Runtime-agnostic: bundled into the Web Worker runtime too.
import type { Future } from './future.ts';
import type { ArgSource } from './inputs.ts';
import { Queue } from './queue.ts';

export class MapAsCompleted<R> implements AsyncIterable<R> {
  readonly #pending = new Set<Future<R>>(); // submitted, not done
  readonly #ready = new Queue<Future<R>>(); // done, not yet yielded
  #exhausted = false;
  #inputError: { error: unknown } | undefined;
  #stopped = false;
  #filling: Promise<void> | undefined;
  #wakers: (() => void)[] = [];
  #consumed = false;
  #ended = false;

  constructor(
    private readonly source: ArgSource,
    private readonly submit: (args: unknown[]) => Future<R>,
    private readonly inFlight: number,
    /** Called once when the map ends, by completion, failure or return(). */
    private readonly onEnd?: () => void,
  ) {
    if (!(inFlight >= 1)) throw new TypeError(`inFlight must be at least 1, not ${String(inFlight)}`);
    // Start at once, like MapResult: the tasks run while the caller sets up its loop.
    queueMicrotask(() => void this.#fill().catch(() => undefined));
  }

  [Symbol.asyncIterator](): AsyncIterator<R> {
    if (this.#consumed) throw new Error('a mapAsCompleted result can be iterated once');
    this.#consumed = true;
    return {
      next: () => this.#next(),
      return: async () => {
        this.#stop();
        return { done: true, value: undefined };
      },
    };
  }

  async #next(): Promise<IteratorResult<R, undefined>> {
    for (;;) {
      if (this.#ready.size > 0) {
        const future = this.#ready.shift();
        void this.#fill().catch(() => undefined);
        try {
          return { done: false, value: await future };
        } catch (e) {
          this.#stop();
          throw e;
        }
      }
      if (this.#stopped || (this.#exhausted && this.#pending.size === 0)) {
        const failure = this.#inputError;
        this.#stop();
        if (failure) throw failure.error;
        return { done: true, value: undefined };
      }
      // Not `await this.#fill()`: a slow async input must not hold back a result that is ready.
      void this.#fill().catch(() => undefined);
      await new Promise<void>((wake) => this.#wakers.push(wake));
    }
  }

  // Wakes waiting next() calls on real events only (a future done, the input
  // ended, a stop), never on a fill that did nothing, which would spin.
  #wake(): void {
    for (const wake of this.#wakers.splice(0)) wake();
  }

  /** Submits from the source until `inFlight` futures are submitted and not yet yielded. */
  #fill(): Promise<void> {
    this.#filling ??= (async () => {
      try {
        while (!this.#exhausted && this.#pending.size + this.#ready.size < this.inFlight) {
          const args = await this.source();
          if (this.#stopped) return;
          if (args !== undefined) {
            this.#track(this.submit(args));
          } else {
            this.#exhausted = true;
            this.#wake();
          }
        }
      } catch (e) {
        // An input (or submit) that throws fails the map once the tasks
        // submitted before it are yielded, as in MapResult's input order.
        if (this.#stopped) return;
        this.#exhausted = true;
        this.#inputError = { error: e };
        this.#wake();
      } finally {
        this.#filling = undefined;
      }
    })();
    return this.#filling;
  }

  #track(future: Future<R>): void {
    this.#pending.add(future);
    future.addDoneCallback(() => {
      if (this.#stopped) return;
      this.#pending.delete(future);
      this.#ready.push(future);
      this.#wake();
    });
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.onEnd?.();
  }

  /** Stops submitting and cancels what has not started. */
  #stop(): void {
    this.#inputError = undefined;
    this.#stopped = true;
    this.#exhausted = true;
    for (const f of this.#pending) f.cancel();
    this.#pending.clear();
    this.#ready.clear();
    this.#wake();
    this.#end();
  }
}
