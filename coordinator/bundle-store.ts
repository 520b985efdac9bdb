// Task bundles, addressed by the sha256 of their bytes. Kept on disk under
// the data folder so a restarted coordinator still serves what it was given,
// and the most recently used ones in memory, within a byte budget, for
// serving. Each submit token may store a bounded number of bytes per run.
import { createHash } from 'node:crypto';
import { access, mkdir, readFile, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { isBundleHash } from '../protocol/messages.ts';

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export interface BundleStoreOptions {
  /** Bytes of bundles kept in memory; the least recently used go first (default 256 MiB). */
  memoryBytes?: number;
  /** Bytes of new bundles one submit token may store while the coordinator runs (default 1 GiB). */
  quotaBytes?: number;
}

/** An upload past its token's quota (HTTP 413). */
export class BundleQuotaError extends Error {
  override name = 'BundleQuotaError';
  readonly status = 413;
}

export class BundleStore {
  /** Most recently used last (a Map keeps insertion order). */
  private readonly memory = new Map<string, Buffer>();
  private memoryUsed = 0;
  /** Bytes stored by each token name. */
  private readonly stored = new Map<string, number>();
  private readonly dir: string;
  private readonly memoryBytes: number;
  private readonly quotaBytes: number;

  constructor(dataDir: string, options: BundleStoreOptions = {}) {
    this.dir = join(dataDir, 'bundles');
    this.memoryBytes = options.memoryBytes ?? 256 * 1024 * 1024;
    this.quotaBytes = options.quotaBytes ?? 1024 * 1024 * 1024;
  }

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  /** Bytes of bundles held in memory now. */
  get memoryInUse(): number {
    return this.memoryUsed;
  }

  async get(hash: string): Promise<Buffer | undefined> {
    if (!isBundleHash(hash)) return undefined;
    const hit = this.memory.get(hash);
    if (hit) {
      this.memory.delete(hash);
      this.memory.set(hash, hit);
      return hit;
    }
    try {
      const bytes = await readFile(this.file(hash));
      // A file changed on disk is not the bundle its name promises.
      if (sha256Hex(bytes) !== hash) return undefined;
      this.keep(hash, bytes);
      return bytes;
    } catch {
      return undefined;
    }
  }

  async has(hash: string): Promise<boolean> {
    return (await this.get(hash)) !== undefined;
  }

  /** Stores a bundle after checking that its bytes hash to `hash`; `owner`
   * (a token name) is charged for bytes not stored before. */
  async put(hash: string, bytes: Buffer, owner = ''): Promise<void> {
    if (!isBundleHash(hash)) throw new Error('a bundle is named by the lowercase hex sha256 of its bytes');
    const actual = sha256Hex(bytes);
    if (actual !== hash) throw new Error(`bundle bytes hash to ${actual}, not ${hash}`);
    const file = this.file(hash);
    if (this.memory.has(hash) || (await exists(file))) return;
    const used = this.stored.get(owner) ?? 0;
    if (used + bytes.length > this.quotaBytes) {
      throw new BundleQuotaError(`this token has stored ${used} bytes of bundles; a ${bytes.length}-byte bundle would pass its quota of ${this.quotaBytes} bytes`);
    }
    this.stored.set(owner, used + bytes.length);
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, bytes);
    await rename(tmp, file);
    this.keep(hash, bytes);
  }

  private file(hash: string): string {
    return join(this.dir, `${hash}.js`);
  }

  private keep(hash: string, bytes: Buffer): void {
    if (bytes.length > this.memoryBytes || this.memory.has(hash)) return;
    this.memory.set(hash, bytes);
    this.memoryUsed += bytes.length;
    for (const [old, b] of this.memory) {
      if (this.memoryUsed <= this.memoryBytes) break;
      this.memory.delete(old);
      this.memoryUsed -= b.length;
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
