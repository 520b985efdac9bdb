// The demo's task module: runs in volunteers' browsers, one task per call.
// Each task throws `samples` random darts at the unit square and counts
// those landing inside the quarter circle: that fraction is about pi / 4.

/** A tag for this module instance: one per Web Worker, so the demo can count them. */
const thread = Math.random().toString(36).slice(2, 10);

export interface Darts {
  inside: number;
  samples: number;
  thread: string;
}

export function darts(seed: number, samples: number): Darts {
  // mulberry32: small, fast, and seeded, so every task draws different darts.
  let s = (seed * 0x9e3779b9) >>> 0;
  const random = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  let inside = 0;
  for (let i = 0; i < samples; i++) {
    const x = random();
    const y = random();
    if (x * x + y * y <= 1) inside++;
  }
  return { inside, samples, thread };
}
