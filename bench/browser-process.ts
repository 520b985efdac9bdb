// Headless Chromium volunteer pages in their own process. Playwright turns
// on Node's async hooks once it launches a browser, which makes every
// promise several times dearer; in the bench process that would tax the SDK
// and Piscina, which no real user's program pays.
import type { Page } from 'playwright-core';
import { launchWorkers } from '../cli/workers.ts';
import { profilePage } from './profile.ts';

export type BrowserRequest = { id: number; t: 'stop' } | { id: number; t: 'echo'; url: string; batches: number; size: number } | { id: number; t: 'relay'; url: string };
export type BrowserReply = { t: 'ready'; version: string } | { id: number; t: 'stopped' } | { id: number; t: 'echoed'; msPerEcho: number[] } | { id: number; t: 'relaying' };

const [url, count, threads, ...browserArgs] = process.argv.slice(2);
// After a stop the channel may already be gone: a late reply is dropped, not thrown.
const send = (msg: BrowserReply) => {
  if (process.connected) process.send!(msg);
};
const workers = await launchWorkers({ url, count: Number(count), threads: Number(threads), browserArgs, log: (line) => {
    if (!line.includes(' joined ')) console.error(`bench browser: ${line}`);
  },
});
const stopProfiles = process.env.BENCH_PROFILE === '1' ? await Promise.all(workers.pages.map((p, i) => profilePage(p, `page${i + 1}`))) : [];

let stopping: Promise<void> | undefined;
const stop = () => (stopping ??= Promise.all(stopProfiles.map((s) => s())).then(() => workers.close()));

/** A new blank page's renderer works for its first two or three seconds on
 * this machine (about 1.5 CPU-s of start-up), and echoes timed meanwhile
 * run 0.8 - 1.7 ms against 0.35 - 0.6 ms once it is done: a floor must not
 * carry that, since the grid's page has long finished its own. */
const SETTLE_MS = 4_000;
async function settledPage(): Promise<Page> {
  const page = await workers.browser.newPage();
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  return page;
}

/** Sequential 40-byte echoes from a settled blank page of this browser to a
 * WebSocket echo server: the floor under any round trip through a page.
 * Timed in batches (a page's clock is coarse); returns ms per echo of each. */
async function echo(url: string, batches: number, size: number): Promise<number[]> {
  const page = await settledPage();
  try {
    return await page.evaluate<number[]>(`(async () => {
      const ws = new WebSocket(${JSON.stringify(url)});
      ws.binaryType = 'arraybuffer';
      await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
      const once = () => new Promise((resolve) => { ws.onmessage = resolve; ws.send(new Uint8Array(40)); });
      for (let i = 0; i < 200; i++) await once();
      const out = [];
      for (let b = 0; b < ${batches}; b++) {
        const t = performance.now();
        for (let i = 0; i < ${size}; i++) await once();
        out.push((performance.now() - t) / ${size});
      }
      ws.close();
      return out;
    })()`);
  } finally {
    await page.close();
  }
}

/** A settled blank page that sends back each frame of a relay's socket
 * (relay-process.ts); it lives as long as the browser. Resolves once open. */
async function relayEcho(url: string): Promise<void> {
  const page = await settledPage();
  await page.evaluate(`new Promise((resolve, reject) => {
    const ws = new WebSocket(${JSON.stringify(url)});
    ws.binaryType = 'arraybuffer';
    ws.onopen = resolve;
    ws.onerror = reject;
    ws.onmessage = (e) => ws.send(e.data);
  })`);
}

process.on('message', (req: BrowserRequest) => {
  if (req.t === 'echo') {
    void echo(req.url, req.batches, req.size).then((msPerEcho) => send({ id: req.id, t: 'echoed', msPerEcho }));
    return;
  }
  if (req.t === 'relay') {
    void relayEcho(req.url).then(() => send({ id: req.id, t: 'relaying' }));
    return;
  }
  if (req.t === 'stop') {
    void stop().then(() => {
      send({ id: req.id, t: 'stopped' });
      if (process.connected) process.disconnect();
    });
  }
});
// The bench died without saying stop: do not leave a browser behind.
process.on('disconnect', () => void stop().finally(() => process.exit(0)));
send({ t: 'ready', version: workers.browser.version() });
