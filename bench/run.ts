// `npm run bench [-- scenario ...]`: runs issue 7's scenarios side by side
// with Piscina, prints the table and writes it (JSON) and the efficiency
// chart (SVG) to bench/results/.
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem, platform, release } from 'node:os';
import { CHROMIUM_ARGS } from '../cli/chromium.ts';
import { chromiumVersion, cleanupAll, profiling, resultsDir } from './harness.ts';
import { profileSelf } from './profile.ts';
import { cpu, efficiency, rtt, trivial } from './local.ts';
import { scale } from './scale.ts';
import { memory } from './memory.ts';
import { nested } from './nested.ts';
import { isolation } from './isolation.ts';
import { durable } from './durable.ts';
import { ga } from './ga.ts';
import { wasmScenario } from './wasm.ts';
import { verify } from './verify.ts';
import { efficiencySvg } from './svg.ts';
import { watchForeignLoad } from './load.ts';
import { formatTable, type Row, type ScenarioResult } from './table.ts';

const SCENARIOS: Record<string, () => Promise<ScenarioResult>> = { trivial, cpu, rtt, scale, memory, efficiency, nested, isolation, durable, ga, wasm: wasmScenario, verify };

const asked = process.argv.slice(2).filter((a) => a !== '--');
const unknown = asked.filter((a) => !(a in SCENARIOS));
if (unknown.length > 0) {
  console.error(`unknown scenario(s): ${unknown.join(', ')}; choose from: ${Object.keys(SCENARIOS).join(' ')}`);
  process.exit(2);
}
const chosen = asked.length > 0 ? Object.keys(SCENARIOS).filter((s) => asked.includes(s)) : Object.keys(SCENARIOS);

const started = performance.now();
// The bench process is the SDK (and Piscina) in most scenarios.
const stopSelfProfile = profiling ? await profileSelf('bench') : undefined;
const rows: Row[] = [];
const results: Record<string, ScenarioResult & { seconds: number; foreignLoad?: number }> = {};
/** Scenarios during which something else loaded the machine. */
const noisy: string[] = [];
let failed = false;
try {
  for (const name of chosen) {
    const t0 = performance.now();
    const load = watchForeignLoad();
    console.log(`${name} ...`);
    try {
      const r = await SCENARIOS[name]();
      const seconds = (performance.now() - t0) / 1000;
      const foreign = load.stop();
      results[name] = { ...r, seconds, foreignLoad: foreign };
      rows.push(...r.rows);
      if (foreign !== undefined && foreign > 0.1) noisy.push(`${name} (${(foreign * 100).toFixed(0)}%)`);
      console.log(`${name}: ${seconds.toFixed(1)} s${foreign === undefined ? '' : `; other processes used ${(foreign * 100).toFixed(0)}% of the machine meanwhile`}`);
    } catch (e) {
      load.stop();
      failed = true;
      console.log(`${name} FAILED: ${(e as Error).stack ?? String(e)}`);
      await cleanupAll();
    }
  }
} finally {
  await cleanupAll();
  await stopSelfProfile?.();
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
  ladle: 'coordinator in its own process; 1 headless Chromium page with ?threads=2, its browser in its own process; SDK in the bench process',
  baseline: 'Piscina, 2 threads, in the bench process',
};
console.log(`\n${formatTable(rows)}\n`);
if (noisy.length > 0) {
  console.log(`WARNING: other processes loaded the machine during ${noisy.join(', ')}: those figures understate both sides; rerun on a quiet machine.`);
}
console.log(`${chosen.join(', ')} in ${seconds.toFixed(0)} s on ${conditions.cores} x ${conditions.cpu}, Node ${conditions.node}, Chromium ${conditions.chromium ?? '(not started)'}`);

await mkdir(resultsDir, { recursive: true });
await writeFile(`${resultsDir}/results.json`, JSON.stringify({ conditions, seconds, noisy, rows, scenarios: results }, null, 2) + '\n');
const points = results.efficiency?.efficiency;
if (points) {
  const foreign = results.efficiency.foreignLoad;
  const noise = foreign !== undefined && foreign > 0.1 ? `; other processes used ${(foreign * 100).toFixed(0)}% of the machine` : '';
  await writeFile(`${resultsDir}/efficiency.svg`, efficiencySvg(points, `${conditions.cores} cores, Node ${conditions.node}, Chromium ${conditions.chromium ?? ''}; ${conditions.date.slice(0, 10)}${noise}`));
}
console.log(`wrote ${resultsDir}/results.json${points ? ' and efficiency.svg' : ''}`);
process.exitCode = failed ? 1 : 0;
