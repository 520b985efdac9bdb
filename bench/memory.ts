// 5. A 1,000,000-item generator streamed through one Chromium page; the SDK
// and the coordinator each in their own process so each peak RSS is its own.
import { forkCoordinator, onCleanup, runChild, until } from './harness.ts';
import { launchWorkers } from '../cli/workers.ts';
import { rate, type ScenarioResult } from './table.ts';

const ITEMS = Number(process.env.BENCH_MILLION ?? 1_000_000);
const MB = 2 ** 20;

interface StreamReport {
  count: number;
  inOrder: boolean;
  seconds: number;
  peakRss: number;
}

function check(who: string, r: StreamReport): void {
  if (r.count !== ITEMS || !r.inOrder) throw new Error(`${who}: ${r.count} of ${ITEMS} results, in order: ${r.inOrder}`);
}

export async function memory(): Promise<ScenarioResult> {
  const c = await forkCoordinator();
  let sdk: StreamReport;
  let coordinatorPeak: number;
  try {
    const workers = await launchWorkers({ url: c.url, count: 1, threads: 2 });
    const unregister = onCleanup(() => workers.close());
    try {
      await until('the page to join', async () => (await c.stats()).threads === 2);
      sdk = await runChild<StreamReport>('stream-client.ts', [String(ITEMS)], { LADLE_URL: c.url, LADLE_TOKEN: c.token }, 'sdk-stream');
      coordinatorPeak = (await c.mem()).peakRss;
    } finally {
      unregister();
      await workers.close();
    }
  } finally {
    await c.stop();
  }
  check('ladle stream', sdk);
  const piscina = await runChild<StreamReport>('stream-piscina.ts', [String(ITEMS)]);
  check('piscina stream', piscina);
  return {
    rows: [
      rate('1M stream: SDK process peak RSS', 'MB', sdk.peakRss / MB, piscina.peakRss / MB, { target: 'bounded' }),
      rate('1M stream: coordinator process peak RSS', 'MB', coordinatorPeak / MB, undefined, { target: 'bounded' }),
      rate('1M stream: throughput', 'tasks/s', ITEMS / sdk.seconds, ITEMS / piscina.seconds),
    ],
    detail: { items: ITEMS, sdk, piscina, coordinatorPeakRss: coordinatorPeak },
  };
}
