// `ladle workers`: volunteer pages in headless Chromium, for a grid that
// computes without anyone opening a browser by hand. A page that crashes
// (a renderer out of memory, say) is replaced.
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './chromium.ts';

export interface WorkersOptions {
  /** The coordinator's http:// URL. */
  url: string;
  count?: number;
  /** Web Workers per page; default one per core. */
  threads?: number;
  /** Extra Chromium flags (e.g. a V8 heap limit). */
  browserArgs?: string[];
  log?: (line: string) => void;
}

export interface LocalWorkers {
  browser: Browser;
  /** The live pages; a crashed page is replaced in place. */
  pages: Page[];
  /** How many crashed pages were replaced. */
  relaunched: number;
  close(): Promise<void>;
}

export function joinUrl(base: string, threads?: number): string {
  // Keeps the query: a private grid's URL carries its join token.
  const u = new URL(base);
  u.pathname = '/';
  if (threads) u.searchParams.set('threads', String(threads));
  return u.toString();
}

/** How a joined page describes itself. */
export interface JoinedPage {
  workerId: string;
  threads: number;
}

async function openPage(browser: Browser, url: string): Promise<Page> {
  // One context per page: each is its own volunteer, with its own storage.
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(url);
  await page.waitForFunction(() => (globalThis as { ladle?: { status: { state: string } } }).ladle?.status.state === 'connected');
  return page;
}

/** The coordinator's id for a page and its Web Worker count, read from the page. */
export async function describePage(page: Page): Promise<JoinedPage> {
  return page.evaluate(() => {
    const { status } = (globalThis as unknown as { ladle: { status: { workerId?: string; threads: number } } }).ladle;
    return { workerId: status.workerId ?? '?', threads: status.threads };
  });
}

async function joinedLine(page: Page, n: number, url: string, verb = 'joined'): Promise<string> {
  const { workerId, threads } = await describePage(page);
  return `page ${n} ${verb} ${url} as worker ${workerId.slice(0, 8)} with ${threads} thread${threads === 1 ? '' : 's'}`;
}

export async function launchWorkers(options: WorkersOptions): Promise<LocalWorkers> {
  const log = options.log ?? (() => undefined);
  const url = joinUrl(options.url, options.threads);
  const browser = await launchChromium(options.browserArgs);
  let closing = false;
  const workers: LocalWorkers = {
    browser,
    pages: [],
    relaunched: 0,
    async close() {
      closing = true;
      await browser.close();
    },
  };

  const watch = (page: Page, n: number) => {
    page.on('pageerror', (e) => log(`page ${n}: ${e.message}`));
    page.once('crash', () => {
      if (closing) return;
      log(`page ${n} crashed; opening a new one`);
      void page.context().close().catch(() => undefined);
      openPage(browser, url).then(
        (fresh) => {
          workers.pages[workers.pages.indexOf(page)] = fresh;
          workers.relaunched++;
          watch(fresh, n);
          return joinedLine(fresh, n, options.url, 'rejoined').then(log, () => log(`page ${n} rejoined ${options.url}`));
        },
        (e: Error) => log(`page ${n} could not be reopened: ${e.message}`),
      );
    });
  };

  try {
    for (let i = 1; i <= (options.count ?? 1); i++) {
      const page = await openPage(browser, url);
      workers.pages.push(page);
      watch(page, i);
      log(await joinedLine(page, i, options.url));
    }
  } catch (e) {
    await browser.close();
    throw e;
  }
  return workers;
}
