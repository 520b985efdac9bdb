// `ladle workers`: volunteer pages in headless Chromium, for a grid that
// computes without anyone opening a browser by hand.
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './chromium.ts';

export interface WorkersOptions {
  /** The coordinator's http:// URL. */
  url: string;
  count?: number;
  /** Web Workers per page; default one per core. */
  threads?: number;
  log?: (line: string) => void;
}

export interface LocalWorkers {
  browser: Browser;
  pages: Page[];
  close(): Promise<void>;
}

export function joinUrl(base: string, threads?: number): string {
  const u = new URL('/', base);
  if (threads) u.searchParams.set('threads', String(threads));
  return u.toString();
}

export async function launchWorkers(options: WorkersOptions): Promise<LocalWorkers> {
  const log = options.log ?? (() => undefined);
  const browser = await launchChromium();
  const pages: Page[] = [];
  try {
    for (let i = 0; i < (options.count ?? 1); i++) {
      // One context per page: each is its own volunteer, with its own storage.
      const context = await browser.newContext();
      const page = await context.newPage();
      page.on('pageerror', (e) => log(`page ${i + 1}: ${e.message}`));
      await page.goto(joinUrl(options.url, options.threads));
      await page.waitForFunction(() => (globalThis as { ladle?: { status: { state: string } } }).ladle?.status.state === 'connected');
      log(`page ${i + 1} joined ${options.url}`);
      pages.push(page);
    }
  } catch (e) {
    await browser.close();
    throw e;
  }
  return {
    browser,
    pages,
    async close() {
      await browser.close();
    },
  };
}
