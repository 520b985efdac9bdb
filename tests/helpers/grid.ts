// A whole grid for a test: a real coordinator on 127.0.0.1:0, real headless
// Chromium pages joined through `ladle workers`' code, and an SDK client.
import { after } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCoordinator, type Coordinator, type CoordinatorOptions } from '../../coordinator/coordinator.ts';
import type { Browser } from 'playwright-core';
import { launchWorkers, type LocalWorkers } from '../../cli/workers.ts';
import { launchChromium } from '../../cli/chromium.ts';
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
  coordinator?: Omit<CoordinatorOptions, 'host' | 'port' | 'dataDir'>;
}

/** One Chromium per test file for the grids without browser flags: each grid
 * opens its pages in contexts of their own and closes them; launching a
 * browser per grid cost a second or more each. */
let sharedBrowser: Promise<Browser> | undefined;
after(async () => {
  await (await sharedBrowser?.catch(() => undefined))?.close();
});

/** The test file's shared Chromium, for pages a test opens in contexts of its own. */
export const testBrowser = (): Promise<Browser> => (sharedBrowser ??= launchChromium());

export async function startTestGrid(options: TestGridOptions = {}): Promise<TestGrid> {
  const dataDir = await mkdtemp(join(tmpdir(), 'ladle-test-'));
  const coordinator = await startCoordinator({ ...options.coordinator, host: '127.0.0.1', port: 0, dataDir });
  let workers: LocalWorkers | undefined;
  try {
    // A grid with its own browser flags (or WebGPU) launches its own browser; the others share one.
    const browser = options.browserArgs || options.webgpu ? undefined : await testBrowser();
    workers = await launchWorkers({ url: coordinator.url, count: options.pages ?? 1, threads: options.threads ?? 2, browserArgs: options.browserArgs, webgpu: options.webgpu, browser });
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
