// The Mandelbrot demo's task module: each task computes one tile of the
// image with the WebAssembly kernel built from demo/kernels/assembly/mandelbrot.ts
// (`npm run demo:mandelbrot` builds it), or with the same loop in JavaScript.
import kernel from './kernels/build/mandelbrot.wasm';
import { tileJs } from './mandelbrot-js.ts';

export interface Tile {
  /** The complex plane's coordinates of the tile's first pixel, and the distance between pixels. */
  x0: number;
  y0: number;
  step: number;
  width: number;
  height: number;
  maxIter: number;
}

export interface TileResult {
  /** Escape-time counts, row by row. */
  counts: Uint16Array;
  /** Their sum: the work done, in iterations. */
  iterations: number;
}

interface Exports {
  memory: WebAssembly.Memory;
  output(): number;
  tile(x0: number, y0: number, step: number, width: number, height: number, maxIter: number): number;
}

// `kernel` is compiled once per Web Worker; one instance serves all its tasks.
// The kernel imports nothing but `env.abort` (AssemblyScript's failure hook).
const wasm = new WebAssembly.Instance(kernel, {
  env: {
    abort: () => {
      throw new RangeError('the Mandelbrot kernel aborted (a tile of more than 512 x 512 pixels?)');
    },
  },
}).exports as unknown as Exports;

export function tileWasm(t: Tile): TileResult {
  if (t.width * t.height > 512 * 512) throw new RangeError(`a tile holds at most 512 x 512 pixels, not ${t.width} x ${t.height}`);
  const iterations = wasm.tile(t.x0, t.y0, t.step, t.width, t.height, t.maxIter);
  const counts = new Uint16Array(wasm.memory.buffer, wasm.output(), t.width * t.height).slice();
  return { counts, iterations };
}

export function tileJavaScript(t: Tile): TileResult {
  const counts = new Uint16Array(t.width * t.height);
  return { counts, iterations: tileJs(counts, t.x0, t.y0, t.step, t.width, t.height, t.maxIter) };
}
