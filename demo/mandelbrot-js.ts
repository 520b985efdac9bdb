// The Mandelbrot kernel of demo/kernels/assembly/mandelbrot.ts, line for line
// in JavaScript: the bench runs both on the same tiles, and tests check that
// they agree.

/** Fills `out` with the escape-time counts of `width` x `height` pixels whose
 * first is at (x0, y0) and which are `step` apart; returns the sum of the counts. */
export function tileJs(out: Uint16Array, x0: number, y0: number, step: number, width: number, height: number, maxIter: number): number {
  let total = 0;
  for (let py = 0; py < height; py++) {
    const ci = y0 + py * step;
    for (let px = 0; px < width; px++) {
      const cr = x0 + px * step;
      let zr = 0;
      let zi = 0;
      let n = 0;
      while (n < maxIter) {
        const zr2 = zr * zr;
        const zi2 = zi * zi;
        if (zr2 + zi2 > 4) break;
        zi = 2 * zr * zi + ci;
        zr = zr2 - zi2 + cr;
        n++;
      }
      out[py * width + px] = n;
      total += n;
    }
  }
  return total;
}
