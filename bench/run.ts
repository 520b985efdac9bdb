// `npm run bench [-- scenario ...]`: runs issue 7's scenarios side by side
// with Piscina, prints the table and writes it (JSON) and the efficiency
// chart (SVG) to bench/results/.
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem, platform, release } from 'node:os';
import { CHROMIUM_ARGS } from '../cli/chromium.ts';
import { chromiumVersion, cleanupAll, resultsDir } from './harness.ts';
import { cpu, efficiency, rtt, trivial } from './local.ts';
import { scale } from './scale.ts';
import { memory } from './memory.ts';
import { efficiencySvg } from './svg.ts';
import { formatTable, type Row, type ScenarioResult } from './table.ts';

const SCENARIOS: Record<string, () => Promise<ScenarioResult>> = { trivial, cpu, rtt, scale, memory, efficiency };

const asked = process.argv.slice(2).filter((a) => a !== '--');
const unknown = asked.filter((a) => !(a in SCENARIOS));
if (unknown.length > 0) {
  console.error(`unknown scenario(s): ${unknown.join(', ')}; choose from: ${Object.keys(SCENARIOS).join(' ')}`);
  process.exit(2);
}
const chosen = asked.length > 0 ? Object.keys(SCENARIOS).filter((s) => asked.includes(s)) : Object.keys(SCENARIOS);

const started = performance.now();
const rows: Row[] = [];
const results: Record<string, ScenarioResult & { seconds: number }> = {};
let failed = false;
try {
  for (const name of chosen) {
    const t0 = performance.now();
    process.stdout.write(`${name} ... `);
    try {
      const r = await SCENARIOS[name]();
      const seconds = (performance.now() - t0) / 1000;
      results[name] = { ...r, seconds };
      rows.push(...r.rows);
      console.log(`${seconds.toFixed(1)} s`);
    } catch (e) {
      failed = true;
      console.log(`FAILED: ${(e as Error).stack ?? String(e)}`);
      await cleanupAll();
    }
  }
} finally {
  await cleanupAll();
}

const seconds = (performance.now() - started) / 1000;
const conditions = {
  date: new Date().toISOString(),
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  memoryGB: Math.round(totalmem() / 2 ** 30),
  os: `${platform()} ${release()}`,
  node: process.version,
  chromium: chromiumVersion,
  chromiumArgs: CHROMIUM_ARGS,
  ladle: '1 coordinator process, 1 headless Chromium page with ?threads=2, SDK in the bench process',
  baseline: 'Piscina, 2 threads, in the bench process',
};
console.log(`\n${formatTable(rows)}\n`);
console.log(`${chosen.join(', ')} in ${seconds.toFixed(0)} s on ${conditions.cores} x ${conditions.cpu}, Node ${conditions.node}, Chromium ${conditions.chromium ?? '(not started)'}`);

await mkdir(resultsDir, { recursive: true });
await writeFile(`${resultsDir}/results.json`, JSON.stringify({ conditions, seconds, rows, scenarios: results }, null, 2) + '\n');
const points = results.efficiency?.efficiency;
if (points) {
  await writeFile(`${resultsDir}/efficiency.svg`, efficiencySvg(points, `${conditions.cores} cores, Node ${conditions.node}, Chromium ${conditions.chromium ?? ''}; ${conditions.date.slice(0, 10)}`));
}
console.log(`wrote ${resultsDir}/results.json${points ? ' and efficiency.svg' : ''}`);
process.exitCode = failed ? 1 : 0;
