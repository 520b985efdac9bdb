// `npm run demo:mandelbrot`: renders the Mandelbrot set on the grid, one tile
// per task, with a WebAssembly kernel built from AssemblyScript
// (demo/kernels/assembly/mandelbrot.ts; this script builds it first).
//   LADLE_TOKEN=... npm run demo:mandelbrot [-- --width 1536 --height 1024 --tile 128 --iter 1000 --out mandelbrot.pgm --js]
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { demoGrid } from './demo-grid.ts';
import { buildKernels } from './kernels/build.ts';
import type * as MandelbrotTasks from './mandelbrot-tasks.ts';

const { values } = parseArgs({
  options: {
    width: { type: 'string', default: '1536' },
    height: { type: 'string', default: '1024' },
    tile: { type: 'string', default: '128' },
    iter: { type: 'string', default: '1000' },
    out: { type: 'string', default: 'mandelbrot.pgm' },
    js: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(`usage: LADLE_TOKEN=T [LADLE_URL=http://HOST:PORT] npm run demo:mandelbrot [-- --width 1536 --height 1024 --tile 128 --iter 1000 --out mandelbrot.pgm --js]

Renders the Mandelbrot set on a Ladle grid, one --tile x --tile square per
task, with the WebAssembly kernel (--js: the same loop in JavaScript), and
writes a greyscale PGM image.`);
  process.exit(0);
}

function count(flag: string, value: string, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    console.error(`demo: --${flag} takes a whole number from 1 to ${max}, not "${value}"`);
    process.exit(2);
  }
  return n;
}
const width = count('width', values.width, 65536);
const height = count('height', values.height, 65536);
const tile = count('tile', values.tile, 512);
const maxIter = count('iter', values.iter, 65535);

const { grid, url } = await demoGrid('demo:mandelbrot');

await buildKernels();

try {
  const m = await grid.module<typeof MandelbrotTasks>(new URL('./mandelbrot-tasks.ts', import.meta.url));
  // The view: real parts -2.5..1, centred vertically, square pixels.
  const step = 3.5 / width;
  const top = (-height / 2) * step;
  const tiles: MandelbrotTasks.Tile[] = [];
  for (let y = 0; y < height; y += tile) {
    for (let x = 0; x < width; x += tile) {
      tiles.push({ x0: -2.5 + x * step, y0: top + y * step, step, width: Math.min(tile, width - x), height: Math.min(tile, height - y), maxIter });
    }
  }
  const kernel = values.js ? 'JavaScript' : 'WebAssembly';
  console.log(`Rendering ${width} x ${height} pixels (${maxIter} iterations at most) as ${tiles.length} tiles with the ${kernel} kernel on ${url}`);
  const started = performance.now();
  const results = await grid.map(values.js ? m.tileJavaScript : m.tileWasm, tiles, { progress: true });
  const seconds = (performance.now() - started) / 1000;

  const image = new Uint8Array(width * height);
  let iterations = 0;
  results.forEach((r, i) => {
    const t = tiles[i];
    const left = Math.round((t.x0 + 2.5) / step);
    const row0 = Math.round((t.y0 - top) / step);
    iterations += r.iterations;
    for (let y = 0; y < t.height; y++) {
      for (let x = 0; x < t.width; x++) {
        const n = r.counts[y * t.width + x];
        image[(row0 + y) * width + left + x] = n >= maxIter ? 0 : 255 - Math.floor((255 * Math.sqrt(n)) / Math.sqrt(maxIter));
      }
    }
  });
  await writeFile(values.out, Buffer.concat([Buffer.from(`P5\n${width} ${height}\n255\n`), image]));

  // A small preview on the terminal: one character per block of pixels.
  const cols = 72;
  const rows = Math.max(1, Math.round((cols * height) / width / 2));
  const shades = ' .:-=+*#%@';
  for (let r = 0; r < rows; r++) {
    let line = '';
    for (let c = 0; c < cols; c++) line += shades[Math.floor(((255 - image[Math.floor(((r + 0.5) * height) / rows) * width + Math.floor(((c + 0.5) * width) / cols)]) * (shades.length - 1)) / 255)];
    console.log(line.trimEnd());
  }
  console.log(`${tiles.length} tiles in ${seconds.toFixed(1)} s: ${(iterations / seconds / 1e6).toFixed(0)} million iterations/s; wrote ${values.out}`);
} finally {
  await grid.close();
}
