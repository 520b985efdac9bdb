// BENCH_PROFILE=1: CPU profiles of every Ladle process a scenario runs, as
// .cpuprofile files in bench/results/profiles/ (open them in Chrome DevTools,
// or summarise with `tsx bench/profile-summary.ts FILE...`). The coordinator
// and SDK child processes get --cpu-prof (see harness.ts); this file covers
// the bench process (the SDK in most scenarios) and each page's main thread
// and Web Workers.
import { Session } from 'node:inspector/promises';
import { mkdir, writeFile } from 'node:fs/promises';
import type { Page } from 'playwright-core';

export const profileDir = new URL('./results/profiles/', import.meta.url);

async function save(name: string, profile: unknown): Promise<void> {
  await mkdir(profileDir, { recursive: true });
  await writeFile(new URL(`${name}-${Date.now()}.cpuprofile`, profileDir), JSON.stringify(profile));
}

/** Profiles this process until the returned function is called. */
export async function profileSelf(name: string): Promise<() => Promise<void>> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    await save(name, profile);
  };
}

/** Profiles a page's main thread and its Web Workers (the task workers and
 * the clock). Workers are separate CDP targets; Playwright's CDP session only
 * talks to them through Target.sendMessageToTarget (non-flat attach). */
export async function profilePage(page: Page, name: string): Promise<() => Promise<void>> {
  const cdp = await page.context().newCDPSession(page);
  const workers: { sessionId: string; title: string }[] = [];
  const waiting = new Map<number, (result: unknown) => void>();
  let nextId = 1;
  cdp.on('Target.attachedToTarget', (e) => {
    if (e.targetInfo.type === 'worker') workers.push({ sessionId: e.sessionId, title: e.targetInfo.title });
  });
  cdp.on('Target.receivedMessageFromTarget', (e) => {
    const msg = JSON.parse(e.message) as { id?: number; result?: unknown };
    if (msg.id !== undefined) waiting.get(msg.id)?.(msg.result);
  });
  const inWorker = (sessionId: string, method: string, params: object = {}) =>
    new Promise<unknown>((resolve) => {
      const id = nextId++;
      waiting.set(id, (r) => {
        waiting.delete(id);
        resolve(r);
      });
      void cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method, params }) });
    });
  await cdp.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: false });
  // Attachment events for workers already running arrive just after the call.
  await new Promise((r) => setTimeout(r, 200));
  const targets = [...workers];
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
  await cdp.send('Profiler.start');
  for (const w of targets) {
    await inWorker(w.sessionId, 'Profiler.enable');
    await inWorker(w.sessionId, 'Profiler.setSamplingInterval', { interval: 100 });
    await inWorker(w.sessionId, 'Profiler.start');
  }
  return async () => {
    await save(`${name}-main`, (await cdp.send('Profiler.stop')).profile);
    for (const w of targets) await save(`${name}-${w.title}`, ((await inWorker(w.sessionId, 'Profiler.stop')) as { profile: unknown }).profile);
    await cdp.detach();
  };
}
