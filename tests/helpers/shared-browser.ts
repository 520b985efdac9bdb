// The Chromium that a test run's e2e files share. `npm test` launches it once
// as a Playwright browser server: a launch costs about 1.7 CPU-seconds on a
// 2-core machine, and some 25 files would each launch one. A file run alone
// launches its own.
import type { Browser, BrowserServer } from 'playwright-core';
import { launchChromium, launchError, launchOptions, loadPlaywright } from '../../cli/chromium.ts';

/** Where the test runner puts the server's address for the files it starts. */
const SERVER_ENV = 'LADLE_TEST_BROWSER';

/** Launches the server and tells child processes started after it where it is. */
export async function startSharedBrowserServer(): Promise<BrowserServer> {
  const { chromium } = await loadPlaywright();
  // Loopback only: unless told, Playwright listens on every interface, and
  // anyone who reached the server would drive the run's browser.
  const server = await chromium.launchServer({ ...launchOptions(), host: '127.0.0.1', port: 0 }).catch((e: unknown) => {
    throw launchError(e);
  });
  process.env[SERVER_ENV] = server.wsEndpoint();
  return server;
}

/** The run's server if there is one, else a browser of this process's own.
 * Closing a connected browser closes the contexts this process opened in it
 * and leaves the browser to the other files. */
export async function openSharedBrowser(): Promise<Browser> {
  const server = process.env[SERVER_ENV];
  if (!server) return launchChromium();
  const { chromium } = await loadPlaywright();
  return chromium.connect(server);
}
