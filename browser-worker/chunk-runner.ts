// Runs a chunk task in a Web Worker: the calls one after the other, each
// succeeding or failing on its own (see client-sdk/chunking.ts).
import { pack } from '../protocol/codec.ts';
import type { ChunkOutcome } from '../client-sdk/chunking.ts';
import { errorInfo } from './error-info.ts';

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

/** The chunk's result bytes; a value that cannot be encoded fails its own call only. */
export function packChunk(outcomes: ChunkOutcome[]): Uint8Array {
  try {
    return pack(outcomes).slice();
  } catch {
    const checked = outcomes.map((o): ChunkOutcome => {
      if (o[0] === 0) return o;
      try {
        pack(o[1]);
        return o;
      } catch (e) {
        return [0, errorInfo(new TypeError(`the task's result cannot be encoded: ${(e as Error).message}`))];
      }
    });
    return pack(checked).slice();
  }
}

export function isThenable(x: unknown): x is PromiseLike<unknown> {
  return (typeof x === 'object' || typeof x === 'function') && x !== null && typeof (x as { then?: unknown }).then === 'function';
}
