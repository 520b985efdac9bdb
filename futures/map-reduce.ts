// grid.mapReduce: maps, and reduces adjacent results while the map runs.
// Each result covers a range of inputs; [i,j) and [j,k) combine, left first,
// into [i,k), so the answer equals a left-to-right reduce and the reduce need
// be associative only, not commutative. Runtime-agnostic: bundled into the
// Web Worker runtime too.
import type { Future } from './future.ts';
import type { ArgSource } from './inputs.ts';
import { atInput } from './map-errors.ts';

/** Map and reduce tasks outstanding together stay within `inFlight`, so the
 * partial results waiting for a neighbour stay bounded too. */
export function mapReduce<R>(
  source: ArgSource,
  submitMap: (args: unknown[]) => Future<R>,
  submitReduce: (a: R, b: R) => Future<R>,
  inFlight: number,
  /** Sends what `submitMap` may hold back (a chunk not full yet) once the
   * inputs end. `inFlight` must be above what it holds back. */
  flush?: () => void,
): Promise<R> {
  if (!(inFlight >= 1)) return Promise.reject(new TypeError(`inFlight must be at least 1, not ${String(inFlight)}`));
  return new Promise<R>((resolve, reject) => {
    const outstanding = new Set<Future<R>>();
    const readyByStart = new Map<number, { end: number; value: R }>();
    const startByEnd = new Map<number, number>();
    let mapped = 0; // inputs submitted so far
    let exhausted = false;
    let settled = false;
    let filling = false;

    const fail = (e: unknown): void => {
      if (settled) return;
      settled = true;
      for (const f of outstanding) f.cancel();
      outstanding.clear();
      readyByStart.clear();
      startByEnd.clear();
      reject(e);
    };

    const finishIfDone = (): void => {
      if (settled || !exhausted || outstanding.size > 0) return;
      if (mapped === 0) return fail(new TypeError('mapReduce of an empty input has no value'));
      // Nothing outstanding and adjacent ranges always merge: one range is left.
      const whole = readyByStart.get(0);
      if (whole?.end !== mapped) return fail(new Error(`mapReduce lost track of its ranges (${readyByStart.size} left)`));
      settled = true;
      resolve(whole.value);
    };

    /** A map task's failure names its input; a reduce's has none. */
    const track = (future: Future<R>, start: number, end: number, input?: number): void => {
      outstanding.add(future);
      future.then(
        (value) => {
          if (settled) return;
          outstanding.delete(future);
          ready(start, end, value);
          void fill();
          finishIfDone();
        },
        (e: unknown) => fail(input === undefined ? e : atInput(e, input)),
      );
    };

    const reduce = (start: number, end: number, left: R, right: R): void => {
      try {
        track(submitReduce(left, right), start, end);
      } catch (e) {
        fail(e);
      }
    };

    const ready = (start: number, end: number, value: R): void => {
      const leftStart = startByEnd.get(start);
      if (leftStart !== undefined) {
        const left = readyByStart.get(leftStart)!;
        readyByStart.delete(leftStart);
        startByEnd.delete(start);
        return reduce(leftStart, end, left.value, value);
      }
      const right = readyByStart.get(end);
      if (right !== undefined) {
        readyByStart.delete(end);
        startByEnd.delete(right.end);
        return reduce(start, right.end, value, right.value);
      }
      readyByStart.set(start, { end, value });
      startByEnd.set(end, start);
    };

    const fill = async (): Promise<void> => {
      if (filling) return; // the running loop re-checks for room after each await
      filling = true;
      try {
        while (!exhausted && !settled && outstanding.size < inFlight) {
          const args = await source();
          if (settled) return;
          if (args === undefined) {
            exhausted = true;
            finishIfDone();
          } else {
            const i = mapped++;
            track(submitMap(args), i, i + 1, i);
          }
        }
      } catch (e) {
        fail(e); // an input or a submit that throws fails the whole call
      } finally {
        filling = false;
        if (exhausted || settled) flush?.();
      }
    };
    void fill();
  });
}
