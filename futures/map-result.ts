// The value of grid.map: both a promise of all results (in input order) and
// an async iterable that yields them in input order as they become ready.
// It keeps at most `inFlight` tasks submitted ahead of the consumer, so a
// huge or endless input streams in bounded memory.
import { Future } from './future.ts';
import type { ArgSource } from './inputs.ts';
import { atInput } from './map-errors.ts';

export class MapResult<R> implements PromiseLike<R[]>, AsyncIterable<R> {
  readonly #window: Future<R>[] = [];
  #head = 0;
  /** The input position of the future at #head. */
  #index = 0;
  /** The future standing for an input that threw: its error is the caller's own. */
  #inputFailure: Future<R> | undefined;
  #exhausted = false;
  #failed = false;
  #filling: Promise<void> | undefined;
  #pulling = false;
  #consumed = false;

  constructor(
    private readonly source: ArgSource,
    private readonly submit: (args: unknown[]) => Future<R>,
    private readonly inFlight: number,
    /** Called once when the map ends, by completion or failure. */
    private readonly onEnd?: () => void,
    /** Sends what `submit` may hold back (a chunk not full yet) once the
     * inputs end. `inFlight` must be above what it holds back. */
    private readonly flush?: () => void,
  ) {
    // Start at once, like a promise: two maps awaited one after the other still overlap.
    queueMicrotask(() => void this.#fill().catch(() => undefined));
  }

  then<A = R[], B = never>(
    onFulfilled?: ((value: R[]) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.#collect().then(onFulfilled, onRejected);
  }

  [Symbol.asyncIterator](): AsyncIterator<R> {
    this.#claim();
    return {
      next: () => this.#next(),
      return: async () => {
        this.#stop();
        return { done: true, value: undefined };
      },
    };
  }

  #claim(): void {
    if (this.#consumed) throw new Error('a map result can be awaited or iterated once');
    this.#consumed = true;
  }

  #collectPromise: Promise<R[]> | undefined;
  #collect(): Promise<R[]> {
    if (!this.#collectPromise) {
      this.#claim();
      this.#collectPromise = (async () => {
        const out: R[] = [];
        for (;;) {
          const step = await this.#next();
          if (step.done) return out;
          out.push(step.value);
        }
      })();
    }
    return this.#collectPromise;
  }

  async #next(): Promise<IteratorResult<R, undefined>> {
    if (this.#head === this.#window.length && !this.#exhausted) await this.#fill();
    if (this.#head === this.#window.length) {
      this.#end();
      return { done: true, value: undefined };
    }
    const future = this.#window[this.#head];
    const index = this.#index++;
    this.#window[this.#head++] = undefined as unknown as Future<R>; // let it be collected
    if (this.#head > 4096 && this.#head * 2 > this.#window.length) {
      this.#window.splice(0, this.#head);
      this.#head = 0;
    }
    void this.#fill().catch(() => undefined);
    try {
      return { done: false, value: await future };
    } catch (e) {
      this.#stop();
      throw future === this.#inputFailure ? e : atInput(e, index);
    }
  }

  /** Submits from the source until `inFlight` futures are ahead of the consumer. */
  #fill(): Promise<void> {
    if (this.#filling) return this.#filling;
    this.#pulling = true;
    const filling = (async () => {
      try {
        while (!this.#exhausted && this.#window.length - this.#head < this.inFlight) {
          const args = await this.source();
          if (this.#failed) return;
          if (args === undefined) this.#exhausted = true;
          else this.#window.push(this.submit(args));
        }
      } catch (e) {
        // An input that throws fails the map at the point it is reached.
        this.#exhausted = true;
        const failed = new Future<R>();
        failed.setException(e);
        this.#inputFailure = failed;
        this.#window.push(failed);
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

  #ended = false;
  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.onEnd?.();
  }

  /** Stops submitting and cancels what has not started. */
  #stop(): void {
    this.#end();
    this.#failed = true;
    this.#exhausted = true;
    for (let i = this.#head; i < this.#window.length; i++) this.#window[i].cancel();
    this.#window.length = 0;
    this.#head = 0;
  }
}
