// Which input a failed map-like call failed on. Runtime-agnostic: bundled
// into the Web Worker runtime too.

/** A copy of an error, same class and fields: one error object may reach
 * several futures (a closed grid fails them all with one), and each map
 * marks its own copy. */
export function copyError<E>(e: E): E {
  if (!(e instanceof Error)) return e;
  const copy = Object.create(Object.getPrototypeOf(e) as object) as Error;
  for (const key of Reflect.ownKeys(e)) Object.defineProperty(copy, key, Object.getOwnPropertyDescriptor(e, key)!);
  return copy as E;
}

/** The error a map rejects with when the task of input `index` (0-based,
 * in input order) failed: a copy of the task's error, of the same class,
 * with `index` set and the index in its message. Non-Error values pass as is. */
export function atInput(e: unknown, index: number): unknown {
  if (!(e instanceof Error)) return e;
  const copy = copyError(e) as Error & { index?: number };
  const message = `map input ${index} failed: ${e.message}`;
  copy.message = message;
  if (typeof e.stack === 'string' && e.message !== '') {
    const at = e.stack.indexOf(e.message);
    if (at >= 0) copy.stack = e.stack.slice(0, at) + message + e.stack.slice(at + e.message.length);
  }
  Object.defineProperty(copy, 'index', { value: index, enumerable: true, writable: true, configurable: true });
  return copy;
}
