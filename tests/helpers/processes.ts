// The operating-system processes behind a Chromium, for tests that kill,
// freeze or slow a browser the way the real world does.
import type { Browser } from 'playwright-core';

async function processInfo(browser: Browser): Promise<{ type: string; id: number }[]> {
  const cdp = await browser.newBrowserCDPSession();
  const { processInfo } = (await cdp.send('SystemInfo.getProcessInfo')) as { processInfo: { type: string; id: number }[] };
  await cdp.detach();
  return processInfo;
}

export async function browserPid(browser: Browser): Promise<number> {
  const main = (await processInfo(browser)).find((p) => p.type === 'browser');
  if (!main) throw new Error('no browser process listed');
  return main.id;
}

/** The renderer processes: they run the pages and their Web Workers. */
export async function rendererPids(browser: Browser): Promise<number[]> {
  return (await processInfo(browser)).filter((p) => p.type === 'renderer').map((p) => p.id);
}

/** Stops and continues processes in a cycle so they get `share` of the time
 * they would: a slow machine, made of a fast one. Returns the undo. */
export function slowDown(pids: number[], share: number, periodMs = 20): () => void {
  const runMs = Math.max(1, Math.round(periodMs * share));
  const signal = (sig: NodeJS.Signals) => {
    for (const pid of pids) {
      try {
        process.kill(pid, sig);
      } catch {
        /* the process is gone */
      }
    }
  };
  let stopped = false;
  let timer: ReturnType<typeof setTimeout>;
  const cycle = () => {
    signal('SIGSTOP');
    timer = setTimeout(() => {
      signal('SIGCONT');
      if (!stopped) timer = setTimeout(cycle, runMs);
    }, periodMs - runMs);
  };
  cycle();
  return () => {
    stopped = true;
    clearTimeout(timer);
    signal('SIGCONT');
  };
}
