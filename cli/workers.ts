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
  /** Enable WebGPU (`--enable-unsafe-webgpu`): a real GPU where Chromium may
   * use one, else its software adapter (SwiftShader). */
  webgpu?: boolean;
  /** A browser to open the pages in instead of launching one; close() then
   * closes only the pages (tests share one browser between grids). */
  browser?: Browser;
  /** Where the pages come from and go back to, with `browser`: by default
   * each opens in a context of its own that close() closes. Tests hand their
   * pages back to a pool instead, since a fresh context costs seconds of CPU. */
  pageSource?: PageSource;
  log?: (line: string) => void;
}

/** Lends blank pages, each in a context of its own, and takes them back. */
export interface PageSource {
  take(): Promise<Page>;
  /** Takes a page back when its workers close, it failed to join or it
   * crashed; a page given back twice is taken once. */
  give(page: Page): Promise<void>;
}

/** Each page in a new context, closed with it. */
const freshContexts = (browser: Browser): PageSource => ({
  // One context per page: each is its own volunteer, with its own storage.
  take: async () => (await browser.newContext()).newPage(),
  give: (page) => page.context().close().catch(() => undefined),
});

export interface LocalWorkers {
  browser: Browser;
  /** The live pages; a crashed page is replaced in place. */
  pages: Page[];
  /** How many times a crashed page was replaced (counted as its replacement starts to open). */
  relaunched: number;
  close(): Promise<void>;
}

/** Headless Chromium has WebGPU only behind this flag (on a page of a secure
 * context: https, or http://127.0.0.1 and localhost). */
export const WEBGPU_ARGS = ['--enable-unsafe-webgpu'];

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

/** Opens a volunteer page and resolves once it is connected. `onCrash` is
 * watching from the first moment: a page can get a task, and crash on it,
 * before it is seen to be connected. */
async function openPage(source: PageSource, url: string, onCrash: (page: Page) => void): Promise<Page> {
  const page = await source.take();
  page.once('crash', () => onCrash(page));
  try {
    await page.goto(url);
    await page.waitForFunction(() => (globalThis as { ladle?: { status: { state: string } } }).ladle?.status.state === 'connected');
  } catch (e) {
    // A page that crashed was given back by its replacement already; a source takes a page back once.
    await source.give(page);
    throw e;
  }
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
  const browser = options.browser ?? (await launchChromium([...(options.webgpu ? WEBGPU_ARGS : []), ...(options.browserArgs ?? [])]));
  const source = (options.browser && options.pageSource) || freshContexts(browser);
  let closing = false;
  const closeAll = async () => {
    if (!options.browser) await browser.close();
    else await Promise.all(workers.pages.map((p) => source.give(p)));
  };
  const workers: LocalWorkers = {
    browser,
    pages: [],
    relaunched: 0,
    async close() {
      closing = true;
      await closeAll();
    },
  };

  /** Opens page `n` (from 1), and opens it again whenever it crashes.
   * Resolves with the page, or undefined when it crashed while opening (its
   * replacement is then on the way). */
  const open = async (n: number): Promise<Page | undefined> => {
    let crashed = false;
    const replace = (page: Page) => {
      crashed = true;
      if (closing) return;
      log(`page ${n} crashed; opening a new one`);
      workers.relaunched++;
      void source.give(page);
      open(n).then(
        (fresh) => fresh && joinedLine(fresh, n, options.url, 'rejoined').then(log, () => log(`page ${n} rejoined ${options.url}`)),
        (e: Error) => closing || log(`page ${n} could not be reopened: ${e.message}`),
      );
    };
    try {
      const page = await openPage(source, url, replace);
      page.on('pageerror', (e) => log(`page ${n}: ${e.message}`));
      workers.pages[n - 1] = page;
      return page;
    } catch (e) {
      if (crashed) return undefined;
      throw e;
    }
  };

  try {
    // Side by side: a page's start is partly waiting (on its Web Workers, the
    // socket, the network), so three open in about 70% of the time one after
    // another takes.
    const count = options.count ?? 1;
    const opened = await Promise.allSettled(Array.from({ length: count }, (_, i) => open(i + 1)));
    const failed = opened.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed) throw failed.reason;
    for (const [i, o] of opened.entries()) {
      const page = o.status === 'fulfilled' ? o.value : undefined;
      if (page) log(await joinedLine(page, i + 1, options.url));
    }
  } catch (e) {
    closing = true;
    await closeAll();
    throw e;
  }
  return workers;
}
