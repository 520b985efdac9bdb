// AssemblyScript (compiled to WebAssembly by demo/kernels/build.ts; tsc skips this folder):
// the escape-time iteration counts of one tile of the Mandelbrot set. The
// same loop in JavaScript is demo/mandelbrot-js.ts, so the two can be compared.

/** Room for the counts of a tile of up to 512 x 512 pixels (u16 each). */
const MAX_PIXELS: i32 = 512 * 512;
const out: usize = memory.data(MAX_PIXELS * 2, 16);

/** Where `tile` writes its counts, row by row, one u16 per pixel. */
export function output(): usize {
  return out;
}

/** Fills the output with the counts of `width` x `height` pixels whose first
 * is at (x0, y0) and which are `step` apart; returns the sum of the counts. */
export function tile(x0: f64, y0: f64, step: f64, width: i32, height: i32, maxIter: i32): f64 {
  if (width * height > MAX_PIXELS) unreachable();
  let total: f64 = 0;
  for (let py = 0; py < height; py++) {
    const ci = y0 + <f64>py * step;
    for (let px = 0; px < width; px++) {
      const cr = x0 + <f64>px * step;
      let zr: f64 = 0;
      let zi: f64 = 0;
      let n = 0;
      while (n < maxIter) {
        const zr2 = zr * zr;
        const zi2 = zi * zi;
        if (zr2 + zi2 > 4) break;
        zi = 2 * zr * zi + ci;
        zr = zr2 - zi2 + cr;
        n++;
      }
      store<u16>(out + (<usize>(py * width + px) << 1), <u16>n);
      total += <f64>n;
    }
  }
  return total;
}
