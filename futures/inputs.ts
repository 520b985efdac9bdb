// Map-like calls take several iterables, sync or async, zipped together
// (the shortest wins, as in SCOOP and Python's map). Pulled lazily so a
// generator of a million items never sits in memory.

export type Inputs<P extends readonly unknown[]> = { [I in keyof P]: Iterable<P[I]> | AsyncIterable<P[I]> };

/** Pulls the next argument tuple; `undefined` when the shortest input ends. */
export type ArgSource = () => unknown[] | undefined | Promise<unknown[] | undefined>;

function isAsync(x: unknown): x is AsyncIterable<unknown> {
  return typeof x === 'object' && x !== null && Symbol.asyncIterator in x;
}
function isIterable(x: unknown): x is Iterable<unknown> {
  return typeof x === 'object' && x !== null && Symbol.iterator in x;
}

export function zipInputs(iterables: readonly unknown[]): ArgSource {
  if (iterables.length === 0) throw new TypeError('map needs at least one iterable of arguments');
  const iterators = iterables.map((it, i): Iterator<unknown> | AsyncIterator<unknown> => {
    if (isAsync(it)) return it[Symbol.asyncIterator]();
    if (isIterable(it)) return it[Symbol.iterator]();
    throw new TypeError(`argument ${i + 1} of map is not iterable`);
  });
  let ended = false;
  const end = () => {
    ended = true;
    for (const it of iterators) void it.return?.();
    return undefined;
  };
  if (iterators.every((it) => !isAsync(iterables[iterators.indexOf(it)]))) {
    const sync = iterators as Iterator<unknown>[];
    // Synchronous inputs stay synchronous: no promise per item.
    return () => {
      if (ended) return undefined;
      const tuple: unknown[] = [];
      for (const it of sync) {
        const r = it.next();
        if (r.done) return end();
        tuple.push(r.value);
      }
      return tuple;
    };
  }
  return async () => {
    if (ended) return undefined;
    // Sync and async iterators side by side: Promise.all takes plain results too.
    const next: Promise<IteratorResult<unknown>>[] = iterators.map((it) => Promise.resolve(it.next()));
    const steps = await Promise.all(next);
    if (steps.some((r) => r.done)) return end();
    return steps.map((r) => r.value as unknown);
  };
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== 'object' || x === null) return false;
  const proto: unknown = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

/** Why `options` has a key outside `known` (a typo, or Python's spelling:
 * `chunksize`), naming the nearest known one; undefined when all are known.
 * Unchecked, such an option would be ignored without a word. */
export function unknownOptionError(what: string, options: object, known: readonly string[]): string | undefined {
  const key = Object.keys(options).find((k) => !known.includes(k));
  if (key === undefined) return undefined;
  const near = known.find((k) => k.toLowerCase() === key.toLowerCase()) ?? known.find((k) => editDistance(k.toLowerCase(), key.toLowerCase()) <= 2);
  return `${JSON.stringify(key)} is not ${what} option${near ? ` (did you mean ${near}?)` : ''}; the options are ${known.join(', ')}`;
}

/** Levenshtein distance, for short option names. */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length];
}

/** Map-like calls take their options as a trailing plain object after the
 * iterables; a plain object is never iterable, so the split is unambiguous. */
export function splitOptions<O extends object>(args: readonly unknown[]): { iterables: unknown[]; options: Partial<O> } {
  const last = args[args.length - 1];
  if (args.length > 0 && isPlainObject(last) && !(Symbol.iterator in last) && !(Symbol.asyncIterator in last)) {
    return { iterables: args.slice(0, -1), options: last as Partial<O> };
  }
  return { iterables: [...args], options: {} };
}
