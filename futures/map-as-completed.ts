// The value of grid.mapAsCompleted: an async iterable of the results in the
// order they complete. Like MapResult it keeps at most `inFlight` tasks
// submitted and not yet yielded, so a huge or endless input streams in
// bounded memory. Runtime-agnostic: bundled into the Web Worker runtime too.
import type { Future } from './future.ts';
import type { ArgSource } from './inputs.ts';
import { Queue } from './queue.ts';
import { atInput } from './map-errors.ts';

/** A submitted call and its input position. */
interface Tracked<R> {
  future: Future<R>;
  index: number;
}

export class MapAsCompleted<R> implements AsyncIterable<R> {
  readonly #pending = new Set<Future<R>>(); // submitted, not done
  readonly #ready = new Queue<Tracked<R>>(); // done, not yet yielded
  #submitted = 0;
  #exhausted = false;
  #inputError: { error: unknown } | undefined;
  #stopped = false;
  #filling: Promise<void> | undefined;
  #pulling = false;
  #wakers: (() => void)[] = [];
  #consumed = false;
  #ended = false;

  constructor(
    private readonly source: ArgSource,
    private readonly submit: (args: unknown[]) => Future<R>,
    private readonly inFlight: number,
    /** Called once when the map ends, by completion, failure or return(). */
    private readonly onEnd?: () => void,
    /** Sends what `submit` may hold back (a chunk not full yet) once the
     * inputs end. `inFlight` must be above what it holds back. */
    private readonly flush?: () => void,
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
        const { future, index } = this.#ready.shift();
        void this.#fill().catch(() => undefined);
        try {
          return { done: false, value: await future };
        } catch (e) {
          this.#stop();
          throw atInput(e, index);
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
    if (this.#filling) return this.#filling;
    this.#pulling = true;
    const filling = (async () => {
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
        this.#pulling = false;
        this.#filling = undefined;
        if (this.#exhausted) this.flush?.();
      }
    })();
    // A loop that found no room ended before this line, finally and all:
    // only a loop still pulling is the one to wait for.
    if (this.#pulling) this.#filling = filling;
    return filling;
  }

  #track(future: Future<R>): void {
    const index = this.#submitted++;
    this.#pending.add(future);
    future.addDoneCallback(() => {
      if (this.#stopped) return;
      this.#pending.delete(future);
      this.#ready.push({ future, index });
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
