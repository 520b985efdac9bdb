// Where Chromium comes from: CHROMIUM_PATH, else Debian's /usr/bin/chromium,
// else Playwright's own download (on machines that have one).
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

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

export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  const executablePath = chromiumPath();
  try {
    return await chromium.launch({ executablePath, args: [...CHROMIUM_ARGS, ...extraArgs], headless: true });
  } catch (e) {
    const where = executablePath ?? "Playwright's own Chromium";
    throw new Error(
      `could not start Chromium (${where}): ${(e as Error).message.split('\n')[0]}\n` +
        'Install it (Debian: apt-get install -y chromium) or set CHROMIUM_PATH.',
    );
  }
}
