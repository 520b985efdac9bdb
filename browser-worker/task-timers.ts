// Timers set by task code fire in their task's turn (see executor.ts): a
// timer's callback runs while its own task is the busy one, so what it
// submits or reads from `shared` is charged to that task, not to whichever
// task happens to be running when it fires.
import type { Executor } from './executor.ts';

type TimerScope = Pick<typeof globalThis, 'setTimeout' | 'setInterval'>;

/** Wraps `scope`'s setTimeout and setInterval (a Web Worker's or a worker
 * thread's global scope) so that each callback is bound to the task that set it. */
export function installTaskTimers(executor: Executor, scope: TimerScope = globalThis): void {
  for (const name of ['setTimeout', 'setInterval'] as const) {
    const real = scope[name] as (handler: unknown, ms?: number, ...args: unknown[]) => unknown;
    const bound = (handler: unknown, ms?: number, ...args: unknown[]): unknown => {
      // A string handler is code to evaluate: it passes through as it came.
      if (typeof handler !== 'function') return real(handler, ms, ...args);
      const fn = handler as (...a: unknown[]) => void;
      return real(executor.bindTimer(() => fn(...args)), ms);
    };
    Object.defineProperty(scope, name, { value: bound, writable: true, configurable: true });
  }
}
