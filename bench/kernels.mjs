// The task bodies of every scenario, in plain JavaScript so that the very same
// code runs as Ladle's task module (bundled by the SDK) and as Piscina's
// worker file (loaded by Node without a TypeScript loader). Each takes one
// argument because Piscina passes exactly one.

/** Trivial task: its cost is all overhead. */
export function identity(x) {
  return x;
}

/** Counts seeded pseudo-random points inside the unit circle. mulberry32 keeps
 * the work identical in every runtime, so both sides compute the same thing. */
export function monteCarlo(job) {
  // Locals, not job.n in the loop: how a job object was built (literal,
  // structured clone, msgpack) must not change the loop's machine code.
  const n = job.n;
  let s = job.seed >>> 0;
  let inside = 0;
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    const x = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    s = (s + 0x6d2b79f5) | 0;
    t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    const y = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    if (x * x + y * y <= 1) inside++;
  }
  return inside;
}

/** monteCarlo with its own stopwatch: the count, and the milliseconds it
 * took where it ran (browsers coarsen performance.now() to about 0.1 ms, so
 * only sums and long runs are exact). */
export function timeMonteCarlo(job) {
  const t0 = performance.now();
  const inside = monteCarlo(job);
  return { inside, ms: performance.now() - t0 };
}

/** Rastrigin's function of a genome (an array of numbers): a GA's cheap
 * fitness, about a microsecond for 10 genes. */
export function rastrigin(genome) {
  let sum = 10 * genome.length;
  for (let i = 0; i < genome.length; i++) {
    const x = genome[i];
    sum += x * x - 10 * Math.cos(2 * Math.PI * x);
  }
  return sum;
}
