// The operating-system processes behind a Chromium, for tests that kill,
// freeze or slow a browser the way the real world does.
import { spawn } from 'node:child_process';
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

/** Every process of a browser: stopping them all is a machine stopping. */
export async function allPids(browser: Browser): Promise<number[]> {
  return (await processInfo(browser)).map((p) => p.id);
}

/** The renderer processes: they run the pages and their Web Workers. */
export async function rendererPids(browser: Browser): Promise<number[]> {
  return (await processInfo(browser)).filter((p) => p.type === 'renderer').map((p) => p.id);
}

/** Stops and continues processes in a cycle so they get `share` of the time
 * they would: a slow machine, made of a fast one. The cycle runs in a child
 * process of its own, so a busy test process cannot stretch it. Returns the undo. */
export function slowDown(pids: number[], share: number, periodMs = 40): () => void {
  const runMs = Math.max(1, Math.round(periodMs * share));
  const script = `
    const pids = ${JSON.stringify(pids)};
    const signal = (sig) => { for (const pid of pids) { try { process.kill(pid, sig); } catch {} } };
    const cycle = () => { signal('SIGSTOP'); setTimeout(() => { signal('SIGCONT'); setTimeout(cycle, ${runMs}); }, ${periodMs - runMs}); };
    process.on('SIGTERM', () => { signal('SIGCONT'); process.exit(0); });
    cycle();`;
  const child = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
  return () => {
    child.kill('SIGTERM');
    // Whatever state the child left them in, they run again.
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        /* the process is gone */
      }
    }
  };
}
