// Headless Chromium volunteer pages in their own process. Playwright turns
// on Node's async hooks once it launches a browser, which makes every
// promise several times dearer; in the bench process that would tax the SDK
// and Piscina, which no real user's program pays.
import { launchWorkers } from '../cli/workers.ts';
import { profilePage } from './profile.ts';

export type BrowserRequest = { id: number; t: 'stop' };
export type BrowserReply = { t: 'ready'; version: string } | { id: number; t: 'stopped' };

const [url, count, threads] = process.argv.slice(2);
// After a stop the channel may already be gone: a late reply is dropped, not thrown.
const send = (msg: BrowserReply) => {
  if (process.connected) process.send!(msg);
};
const workers = await launchWorkers({ url, count: Number(count), threads: Number(threads), log: (line) => {
    if (!line.includes(' joined ')) console.error(`bench browser: ${line}`);
  },
});
const stopProfiles = process.env.BENCH_PROFILE === '1' ? await Promise.all(workers.pages.map((p, i) => profilePage(p, `page${i + 1}`))) : [];

let stopping: Promise<void> | undefined;
const stop = () => (stopping ??= Promise.all(stopProfiles.map((s) => s())).then(() => workers.close()));

process.on('message', (req: BrowserRequest) => {
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
