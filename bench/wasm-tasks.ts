// Task module of `npm run bench -- wasm`: the Mandelbrot kernel as Wasm and
// as JavaScript, timed inside the Web Worker over the same tile.
import kernel from '../demo/kernels/build/mandelbrot.wasm';
import { tileJs } from '../demo/mandelbrot-js.ts';

interface Exports {
  tile(x0: number, y0: number, step: number, width: number, height: number, maxIter: number): number;
}
const wasm = new WebAssembly.Instance(kernel, { env: { abort: () => undefined } }).exports as unknown as Exports;

export interface Timed {
  ms: number;
  /** Escape-time iterations computed: the work, the same on both sides. */
  iterations: number;
}

const W = 256;
const H = 256;
const STEP = 3 / W;

/** `reps` Mandelbrot tiles of 256 x 256 (the whole set) with the Wasm kernel. */
export function timeWasm(reps: number, maxIter: number): Timed {
  const t0 = performance.now();
  let iterations = 0;
  for (let r = 0; r < reps; r++) iterations += wasm.tile(-2.2, -1.5, STEP, W, H, maxIter);
  return { ms: performance.now() - t0, iterations };
}

/** The same with the JavaScript twin. */
export function timeJs(reps: number, maxIter: number): Timed {
  const out = new Uint16Array(W * H);
  const t0 = performance.now();
  let iterations = 0;
  for (let r = 0; r < reps; r++) iterations += tileJs(out, -2.2, -1.5, STEP, W, H, maxIter);
  return { ms: performance.now() - t0, iterations };
}
