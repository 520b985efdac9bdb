// A whole grid for a test: a real coordinator on 127.0.0.1:0, real headless
// Chromium pages joined through `ladle workers`' code, and an SDK client.
import { after } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCoordinator, type Coordinator, type CoordinatorOptions } from '../../coordinator/coordinator.ts';
import type { Browser, Page } from 'playwright-core';
import { launchWorkers, type LocalWorkers, type PageSource } from '../../cli/workers.ts';
import { openSharedBrowser } from './shared-browser.ts';
import { connect, type Grid } from '../../client-sdk/index.ts';

export interface TestGrid {
  coordinator: Coordinator;
  workers: LocalWorkers;
  grid: Grid;
  close(): Promise<void>;
}

export interface TestGridOptions {
  pages?: number;
  threads?: number;
  browserArgs?: string[];
  webgpu?: boolean;
  /** Pages in a browser of their own, which the test may kill or freeze alone. */
  ownBrowser?: boolean;
  coordinator?: Omit<CoordinatorOptions, 'host' | 'port' | 'dataDir'>;
}

/** One Chromium for the grids without browser flags (the run's, under `npm
 * test`): each grid opens its pages in contexts of their own; launching a
 * browser per grid cost a second or more each. */
let sharedBrowser: Promise<Browser> | undefined;
after(async () => {
  await (await sharedBrowser?.catch(() => undefined))?.close();
});

/** The test file's shared Chromium, for pages a test opens in contexts of its own. */
export const testBrowser = (): Promise<Browser> => (sharedBrowser ??= openSharedBrowser());

/** The shared browser's grid pages, kept between grids. A fresh context costs
 * about 3 CPU-seconds here (a new renderer process, even for about:blank);
 * a page taken back and sent to the next coordinator about 1.2. Each grid's
 * coordinator has a port, so an origin, of its own; a page goes back blank,
 * without listeners or routes, with its old origin's storage cleared (a later
 * coordinator may get the same port) and the cookies of its context. */
class PagePool implements PageSource {
  private readonly idle: Page[] = [];
  private readonly lent = new Set<Page>();
  private readonly crashed = new WeakSet<Page>();

  async take(): Promise<Page> {
    const page = this.idle.pop() ?? (await (await (await testBrowser()).newContext()).newPage());
    this.lent.add(page);
    // Watching for the whole loan: a page killed or crashed by its test does not come back.
    page.once('crash', () => this.crashed.add(page));
    return page;
  }

  async give(page: Page): Promise<void> {
    if (!this.lent.delete(page)) return;
    page.removeAllListeners();
    const origin = new URL(page.url()).origin;
    try {
      if (this.crashed.has(page) || page.isClosed()) throw new Error('not reusable');
      await page.unrouteAll();
      await page.goto('about:blank', { timeout: 5000 });
      if (origin.startsWith('http')) {
        const cdp = await page.context().newCDPSession(page);
        await cdp.send('Storage.clearDataForOrigin', { origin, storageTypes: 'all' });
        await cdp.detach();
      }
      await page.context().clearCookies();
      this.idle.push(page);
    } catch {
      await page.context().close().catch(() => undefined);
    }
  }
}
const pool = new PagePool();

export async function startTestGrid(options: TestGridOptions = {}): Promise<TestGrid> {
  const dataDir = await mkdtemp(join(tmpdir(), 'ladle-test-'));
  const coordinator = await startCoordinator({ ...options.coordinator, host: '127.0.0.1', port: 0, dataDir });
  let workers: LocalWorkers | undefined;
  try {
    // A grid with its own browser flags (or WebGPU) launches its own browser; the others share one.
    const browser = options.ownBrowser || options.browserArgs || options.webgpu ? undefined : await testBrowser();
    workers = await launchWorkers({
      url: coordinator.url,
      count: options.pages ?? 1,
      threads: options.threads ?? 2,
      browserArgs: options.browserArgs,
      webgpu: options.webgpu,
      browser,
      pageSource: pool,
    });
    const grid = await connect({ url: coordinator.url, token: coordinator.token });
    return {
      coordinator,
      workers,
      grid,
      async close() {
        await grid.close();
        await workers!.close();
        await coordinator.close();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await workers?.close();
    await coordinator.close();
    await rm(dataDir, { recursive: true, force: true });
    throw e;
  }
}

export const fixture = (name: string) => new URL(`../fixtures/${name}`, import.meta.url);

/** Runs `body` against a coordinator of its own on 127.0.0.1 (no pages), then closes it. */
export async function withCoordinator(options: CoordinatorOptions, body: (c: Coordinator) => Promise<void>): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'ladle-test-'));
  const c = await startCoordinator({ ...options, host: '127.0.0.1', port: 0, dataDir });
  try {
    await body(c);
  } finally {
    await c.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}
