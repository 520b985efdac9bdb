// Where Chromium comes from: CHROMIUM_PATH, else Debian's /usr/bin/chromium,
// else Playwright's own download (on machines that have one).
import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';

/** playwright-core is an optional peer dependency: only headless pages need it. */
export const PLAYWRIGHT_MISSING =
  'headless worker pages need playwright-core, which is not installed. Install it with:\n' +
  '  npm install playwright-core\n' +
  'A coordinator alone does not need it (ladle coordinator, or ladle start --local-workers 0): ' +
  'volunteers join by opening its URL in any browser.';

export async function loadPlaywright(): Promise<typeof import('playwright-core')> {
  try {
    return await import('playwright-core');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ERR_MODULE_NOT_FOUND' && err.message.includes("'playwright-core'")) throw new Error(PLAYWRIGHT_MISSING);
    throw e;
  }
}

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export function chromiumPath(): string | undefined {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) return fromEnv;
  return existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined;
}

/** How Ladle launches Chromium: headless, the flags above, the path found. */
export function launchOptions(extraArgs: string[] = []): { executablePath: string | undefined; args: string[]; headless: true } {
  return { executablePath: chromiumPath(), args: [...CHROMIUM_ARGS, ...extraArgs], headless: true };
}

/** A failed launch, said with what to do about it. */
export function launchError(e: unknown): Error {
  const where = chromiumPath() ?? "Playwright's own Chromium";
  return new Error(
    `could not start Chromium (${where}): ${(e as Error).message.split('\n')[0]}\n` + 'Install it (Debian: apt-get install -y chromium) or set CHROMIUM_PATH.',
  );
}

export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  const { chromium } = await loadPlaywright();
  try {
    return await chromium.launch(launchOptions(extraArgs));
  } catch (e) {
    throw launchError(e);
  }
}
