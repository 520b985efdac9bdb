// `npm run demo`: estimates pi on the grid with many Monte Carlo tasks.
//   LADLE_TOKEN=... npm run demo [-- --tasks 1000 --samples 500000]
// LADLE_URL defaults to http://127.0.0.1:8080 (what `npm start` serves).
import { parseArgs } from 'node:util';
import { demoGrid } from './demo-grid.ts';
import type * as PiTasks from './pi-tasks.ts';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '1000' },
    samples: { type: 'string', default: '500000' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(`usage: LADLE_TOKEN=T [LADLE_URL=http://HOST:PORT] npm run demo [-- --tasks 1000 --samples 500000]

Estimates pi on a Ladle grid: each task throws --samples random darts at the
unit square in a volunteer's browser and counts those inside the quarter circle.`);
  process.exit(0);
}

function count(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`demo: --${flag} takes a whole number of at least 1, not "${value}"`);
    process.exit(2);
  }
  return n;
}
const tasks = count('tasks', values.tasks);
const samples = count('samples', values.samples);

const { grid, url, token } = await demoGrid('demo');

interface WorkerRow {
  id: string;
  tasksDone: number;
}
const statsUrl = new URL('/api/stats', url.replace(/^ws/, 'http')).href;
async function workersNow(): Promise<{ workers: number; perWorker: WorkerRow[] }> {
  // Each worker's row is for token holders: the demo's submit token shows it.
  return (await (await fetch(statsUrl, { headers: { authorization: `Bearer ${token}` } })).json()) as { workers: number; perWorker: WorkerRow[] };
}

try {
  const before = await workersNow();
  if (before.workers === 0) {
    console.log(`No browser has joined ${url} yet: open it in a browser (or run \`npm start\`, which starts one). The tasks wait until one does.`);
  }
  const pi = await grid.module<typeof PiTasks>(new URL('./pi-tasks.ts', import.meta.url));
  console.log(`Estimating pi with ${tasks.toLocaleString('en-US')} tasks of ${samples.toLocaleString('en-US')} darts each on ${url}`);

  const started = performance.now();
  const seeds = Array.from({ length: tasks }, (_, i) => i + 1);
  const results = await grid.map(pi.darts, seeds, seeds.map(() => samples), { progress: true });
  const seconds = (performance.now() - started) / 1000;
  const after = await workersNow();

  let inside = 0;
  let thrown = 0;
  for (const r of results) {
    inside += r.inside;
    thrown += r.samples;
  }
  const estimate = (4 * inside) / thrown;
  const threads = new Set(results.map((r) => r.thread)).size;
  const doneBefore = new Map(before.perWorker.map((w) => [w.id, w.tasksDone]));
  const browsers = after.perWorker.filter((w) => w.tasksDone > (doneBefore.get(w.id) ?? 0)).length;

  console.log(`pi ≈ ${estimate.toFixed(6)} (off by ${Math.abs(estimate - Math.PI).toExponential(1)}, from ${thrown.toLocaleString('en-US')} darts)`);
  console.log(`${tasks.toLocaleString('en-US')} tasks in ${seconds.toFixed(1)} s: ${(tasks / seconds).toFixed(1)} tasks/s, ${(thrown / seconds / 1e6).toFixed(0)} million darts/s`);
  console.log(`${browsers} browser${browsers === 1 ? '' : 's'} took part, with ${threads} Web Worker${threads === 1 ? '' : 's'} between them.`);
} finally {
  await grid.close();
}
