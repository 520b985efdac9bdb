// A verified task's own comparison (`verify: { replicas, equal }`), run here,
// in the submitter's process: the coordinator asks when replicas' results
// differ in bytes (see the `compare` message). Here is the one place that
// trusts both the code (it is the user's) and the results (they are the
// user's): the coordinator runs no user code, and a volunteer page asked to
// judge could lie about the comparison as easily as about the result.
// The function runs in one worker thread of the local engine, with a timeout.
import { packValue, unpack } from '../protocol/codec.ts';
import type { TaskOutcome } from '../protocol/messages.ts';
import { LocalEngine } from './local/engine.ts';

/** How long one comparison may run before it counts as "not equal". */
const COMPARE_TIMEOUT_MS = 10_000;

export class Comparer {
  #engine: Promise<LocalEngine> | undefined;
  readonly #waiting = new Map<number, (outcome: TaskOutcome) => void>();
  #next = 1;
  #warned = false;

  /** `code`: a bundle's code by its hash (the bundles this client made). */
  constructor(private readonly code: (hash: string) => string | undefined) {}

  /** Whether each pair of packed results agrees by `fn` of `bundle`; a
   * comparison that throws, times out or answers anything but `true` says no. */
  async compare(bundle: string, fn: string, pairs: [Uint8Array, Uint8Array][]): Promise<boolean[]> {
    const code = this.code(bundle);
    if (code === undefined) return pairs.map(() => false);
    this.#engine ??= LocalEngine.start(1, {
      output: (_started, results) => {
        for (const r of results) this.#waiting.get(r.id)?.(r);
      },
    });
    const engine = await this.#engine;
    engine.addBundle(bundle, code);
    return Promise.all(
      pairs.map(
        ([a, b]) =>
          new Promise<boolean>((resolve) => {
            const id = this.#next++;
            this.#waiting.set(id, (outcome) => {
              this.#waiting.delete(id);
              if (!outcome.ok) this.#warn(fn, outcome.error.message);
              resolve(outcome.ok && unpack(outcome.value) === true);
            });
            const args = packValue([unpack(a), unpack(b)], 'args');
            if (!(args instanceof Uint8Array)) return resolve(false);
            engine.submit([{ id, bundle, fn, args, timeout: COMPARE_TIMEOUT_MS }]);
          }),
      ),
    );
  }

  async close(): Promise<void> {
    const engine = this.#engine;
    this.#engine = undefined;
    await (await engine?.catch(() => undefined))?.stop();
  }

  #warn(fn: string, message: string): void {
    if (this.#warned) return;
    this.#warned = true;
    console.warn(`ladle: verify's equal function ${fn} failed (${message}); its results count as different`);
  }
}
