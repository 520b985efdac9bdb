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
 * process of its own, so a busy test process cannot stretch it. On a loaded
 * machine timers fire late, and a late SIGSTOP would give the processes more
 * than their share (a 10 ms run window that lasts 15 ms is half again), so the
 * cycle measures each window by the clock and lengthens the next stop to keep
 * the total at `share`. Resolves, with the undo, once the first stop is in
 * force: a child process takes a while to start, and the slowed processes
 * would run at full speed meanwhile. */
export async function slowDown(pids: number[], share: number, periodMs = 40): Promise<() => void> {
  if (!(share > 0 && share < 1)) throw new RangeError(`share must be between 0 and 1, got ${share}`);
  const runMs = Math.max(1, Math.round(periodMs * share));
  const script = `
    const pids = ${JSON.stringify(pids)};
    const share = ${share};
    const signal = (sig) => { for (const pid of pids) { try { process.kill(pid, sig); } catch {} } };
    let ran = 0, stopped = 0, since = performance.now();
    const stop = () => {
      signal('SIGSTOP');
      const now = performance.now();
      ran += now - since;
      since = now;
      // The stop that brings the running share back to share, whatever the timers did.
      setTimeout(resume, Math.max(1, ran / share - ran - stopped));
    };
    const resume = () => {
      signal('SIGCONT');
      const now = performance.now();
      stopped += now - since;
      since = now;
      setTimeout(stop, ${runMs});
    };
    process.on('SIGTERM', () => { signal('SIGCONT'); process.exit(0); });
    stop();
    process.stdout.write('stopped');`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`the slow-down cycle exited with ${code} before it began`)));
  });
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
