// Task bundles, addressed by the sha256 of their bytes. Kept on disk under
// the data folder so a restarted coordinator still serves what it was given,
// and in memory for serving.
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { isBundleHash } from '../protocol/messages.ts';

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export class BundleStore {
  private readonly memory = new Map<string, Buffer>();
  private readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'bundles');
  }

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  async get(hash: string): Promise<Buffer | undefined> {
    if (!isBundleHash(hash)) return undefined;
    const hit = this.memory.get(hash);
    if (hit) return hit;
    try {
      const bytes = await readFile(join(this.dir, `${hash}.js`));
      // A file changed on disk is not the bundle its name promises.
      if (sha256Hex(bytes) !== hash) return undefined;
      this.memory.set(hash, bytes);
      return bytes;
    } catch {
      return undefined;
    }
  }

  async has(hash: string): Promise<boolean> {
    return (await this.get(hash)) !== undefined;
  }

  /** Stores a bundle after checking that its bytes hash to `hash`. */
  async put(hash: string, bytes: Buffer): Promise<void> {
    if (!isBundleHash(hash)) throw new Error('a bundle is named by the lowercase hex sha256 of its bytes');
    const actual = sha256Hex(bytes);
    if (actual !== hash) throw new Error(`bundle bytes hash to ${actual}, not ${hash}`);
    if (this.memory.has(hash)) return;
    const file = join(this.dir, `${hash}.js`);
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, bytes);
    await rename(tmp, file);
    this.memory.set(hash, bytes);
  }
}
