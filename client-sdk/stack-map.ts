// Maps a remote stack trace back to the task module's own files and lines.
// In the page a task's frames name its bundle (the coordinator's
// `/bundles/<sha256>` URL, put there by the Web Worker in place of a blob:
// URL); the SDK bundled that code, so it holds the source map and turns
// `http://host/bundles/<hash>:4:30` into `/home/me/tasks.ts:6:11`. Frames of
// bundles it has no map for, and every other frame, are left as they are.
import { SourceMapConsumer } from 'source-map-js';

const BUNDLE_FRAME = /\b[a-z][a-z0-9+.-]*:\/\/[^\s()@]*?\/bundles\/([0-9a-f]{64}):(\d+):(\d+)/g;

export class SourceMaps {
  readonly #raw = new Map<string, string>();
  /** Parsed on first use: most bundles never throw. */
  readonly #parsed = new Map<string, SourceMapConsumer>();

  /** Keeps the source map of the bundle named `hash`. */
  add(hash: string, sourceMap: string): void {
    if (!this.#parsed.has(hash)) this.#raw.set(hash, sourceMap);
  }

  /** The stack with each frame of a known bundle naming the original file, line and column. */
  mapStack(stack: string): string {
    return stack.replace(BUNDLE_FRAME, (frame: string, hash: string, line: string, column: string) => {
      const map = this.#consumer(hash);
      if (!map) return frame;
      // V8 counts columns from 1, source maps from 0.
      const at = map.originalPositionFor({ line: Number(line), column: Math.max(0, Number(column) - 1) });
      return at.source === null || at.line === null ? frame : `${at.source}:${at.line}:${(at.column ?? 0) + 1}`;
    });
  }

  #consumer(hash: string): SourceMapConsumer | undefined {
    let map = this.#parsed.get(hash);
    if (map) return map;
    const raw = this.#raw.get(hash);
    if (raw === undefined) return undefined;
    try {
      map = new SourceMapConsumer(JSON.parse(raw) as ConstructorParameters<typeof SourceMapConsumer>[0]);
    } catch {
      this.#raw.delete(hash); // a map esbuild wrote that does not parse: leave its frames alone
      return undefined;
    }
    this.#raw.delete(hash);
    this.#parsed.set(hash, map);
    return map;
  }
}
