// Runs a chunk task in a Web Worker: the calls one after the other, each
// succeeding or failing on its own (see futures/chunking.ts).
import { packValue } from '../protocol/codec.ts';
import type { CloneProblem } from '../protocol/clone-check.ts';
import type { ChunkOutcome } from '../futures/chunking.ts';
import { cloneErrorInfo, errorInfo } from './error-info.ts';

type Fn = (...args: unknown[]) => unknown;

/** The calls' outcomes; a promise once a call returns one (the calls after
 * it run when it settles, as a task that awaits). */
export function runChunk(fn: Fn, calls: unknown): ChunkOutcome[] | Promise<ChunkOutcome[]> {
  if (!Array.isArray(calls) || !calls.every((c) => Array.isArray(c))) throw new TypeError('a chunk task takes an array of argument lists');
  const out: ChunkOutcome[] = [];
  const from = (start: number): ChunkOutcome[] | Promise<ChunkOutcome[]> => {
    for (let i = start; i < calls.length; i++) {
      let value: unknown;
      try {
        value = fn(...(calls[i] as unknown[]));
      } catch (e) {
        out.push([0, errorInfo(e)]);
        continue;
      }
      if (isThenable(value)) {
        return Promise.resolve(value).then(
          (v) => {
            out.push([1, v]);
            return from(i + 1);
          },
          (e: unknown) => {
            out.push([0, errorInfo(e)]);
            return from(i + 1);
          },
        );
      }
      out.push([1, value]);
    }
    return out;
  };
  return from(0);
}

/** The chunk's result bytes; a value that cannot be copied fails its own call only. */
export function packChunk(outcomes: ChunkOutcome[]): Uint8Array | CloneProblem {
  const packed = packValue(outcomes, 'result');
  if (packed instanceof Uint8Array) return packed;
  const checked = outcomes.map((o, i): ChunkOutcome => {
    if (o[0] === 0) return o;
    const one = packValue(o[1], `result[${i}]`);
    return one instanceof Uint8Array ? o : [0, cloneErrorInfo(one)];
  });
  return packValue(checked, 'result');
}

export function isThenable(x: unknown): x is PromiseLike<unknown> {
  return (typeof x === 'object' || typeof x === 'function') && x !== null && typeof (x as { then?: unknown }).then === 'function';
}
