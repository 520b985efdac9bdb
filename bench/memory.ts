// 5. A 1,000,000-item generator streamed through one Chromium page; the SDK
// and the coordinator each in their own process so each peak RSS is its own.
import { forkBrowser, forkCoordinator, runChild } from './harness.ts';
import { rate, type ScenarioResult } from './table.ts';

const ITEMS = Number(process.env.BENCH_MILLION ?? 1_000_000);
const MB = 2 ** 20;

interface StreamReport {
  count: number;
  inOrder: boolean;
  seconds: number;
  peakRss: number;
}

function check(who: string, r: StreamReport, items: number): void {
  if (r.count !== items || !r.inOrder) throw new Error(`${who}: ${r.count} of ${items} results, in order: ${r.inOrder}`);
}

export async function memory(): Promise<ScenarioResult> {
  const c = await forkCoordinator();
  const small = Math.round(ITEMS / 10);
  let sdkSmall: StreamReport;
  let sdk: StreamReport;
  let coordinatorPeakSmall: number;
  let coordinatorPeak: number;
  try {
    const browser = await forkBrowser(c, 1, 2);
    try {
      // A tenth first: bounded memory means the same peak for ten times the items.
      const env = { LADLE_URL: c.url, LADLE_TOKEN: c.token };
      sdkSmall = await runChild<StreamReport>('stream-client.ts', [String(small)], env);
      coordinatorPeakSmall = (await c.mem()).peakRss;
      sdk = await runChild<StreamReport>('stream-client.ts', [String(ITEMS)], env, 'sdk-stream');
      coordinatorPeak = (await c.mem()).peakRss;
    } finally {
      await browser.stop();
    }
  } finally {
    await c.stop();
  }
  check('ladle stream', sdk, ITEMS);
  check('ladle stream', sdkSmall, small);
  const piscina = await runChild<StreamReport>('stream-piscina.ts', [String(ITEMS)]);
  check('piscina stream', piscina, ITEMS);
  return {
    rows: [
      rate('1M stream: SDK process peak RSS', 'MB', sdk.peakRss / MB, piscina.peakRss / MB, { target: 'bounded (< 300 MB)', met: sdk.peakRss < 300 * MB }),
      rate('1M stream: SDK peak RSS, 1M minus 100k items', 'MB', (sdk.peakRss - sdkSmall.peakRss) / MB, undefined, { target: 'about 0' }),
      rate('1M stream: coordinator process peak RSS', 'MB', coordinatorPeak / MB, undefined, { target: 'bounded' }),
      rate('1M stream: coordinator peak RSS, 1M minus 100k', 'MB', (coordinatorPeak - coordinatorPeakSmall) / MB, undefined, { target: 'about 0' }),
      rate('1M stream: throughput', 'tasks/s', ITEMS / sdk.seconds, ITEMS / piscina.seconds),
    ],
    detail: { items: ITEMS, sdk, sdkSmall, piscina, coordinatorPeakRss: coordinatorPeak, coordinatorPeakRssAfterSmall: coordinatorPeakSmall },
  };
}
