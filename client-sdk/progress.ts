// Progress of a map-like call: a callback at most ~10 times a second, and/or
// a one-line bar on stderr when it is a terminal. Reaches `process` only
// through the global, so a bundle that merely imports the types stays clean.

export interface ProgressInfo {
  /** Tasks finished so far, failed ones included. */
  done: number;
  /** Of `done`, those that failed or were cancelled. */
  failed: number;
  /** Tasks in all, when the inputs' lengths are known. */
  total?: number;
  elapsedMs: number;
  /** Tasks finished per second since the call began. */
  rate: number;
  /** Estimated time left, when `total` is known and the rate is not 0. */
  etaMs?: number;
}

export interface ProgressOptions {
  /** Draw a progress bar on stderr (only when it is a terminal). */
  progress?: boolean;
  /** Called at most ~10 times a second, and once when the call ends. */
  onProgress?: (p: ProgressInfo) => void;
}

export interface ProgressTracker {
  taskDone(failed: boolean): void;
  finish(): void;
}

/** Where the bar is drawn: process.stderr, or a stand-in for tests. */
export interface ProgressStream {
  isTTY?: boolean;
  write(chunk: string): unknown;
}

const INTERVAL_MS = 100;
const BAR_WIDTH = 24;

function stderr(): ProgressStream | undefined {
  return typeof process === 'undefined' ? undefined : process.stderr;
}

/** The number of tasks a map over these inputs will run (the shortest wins),
 * when every input tells its length or size; undefined otherwise. */
export function knownLength(iterables: readonly unknown[]): number | undefined {
  let min: number | undefined;
  for (const it of iterables) {
    const n = lengthOf(it);
    if (n === undefined) return undefined;
    min = min === undefined ? n : Math.min(min, n);
  }
  return min;
}

function lengthOf(x: unknown): number | undefined {
  if (typeof x !== 'object' || x === null) return undefined;
  const { length, size } = x as { length?: unknown; size?: unknown };
  for (const n of [length, size]) if (typeof n === 'number' && Number.isInteger(n) && n >= 0) return n;
  return undefined;
}

/** A tracker for one map-like call, or undefined when nothing would be
 * reported, so that the call pays nothing per task. */
export function progressTracker(
  options: ProgressOptions,
  total?: number,
  stream: ProgressStream | undefined = stderr(),
): ProgressTracker | undefined {
  const { onProgress } = options;
  if (onProgress !== undefined && typeof onProgress !== 'function') throw new TypeError('onProgress must be a function');
  const bar = options.progress && stream?.isTTY ? stream : undefined;
  if (!onProgress && !bar) return undefined;

  const start = performance.now();
  let done = 0;
  let failed = 0;
  let last = -Infinity;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let finished = false;

  const info = (): ProgressInfo => {
    const elapsedMs = performance.now() - start;
    const rate = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0;
    const p: ProgressInfo = { done, failed, elapsedMs, rate };
    if (total !== undefined) {
      p.total = total;
      if (rate > 0) p.etaMs = (Math.max(0, total - done) / rate) * 1000;
    }
    return p;
  };
  const emit = (): void => {
    clearTimeout(timer);
    timer = undefined;
    last = performance.now();
    const p = info();
    // \x1b[K clears what a longer previous line left behind.
    bar?.write(`\r${formatProgress(p)}\x1b[K`);
    if (onProgress) {
      // Like a done callback: a broken reporter must not break the map.
      try {
        onProgress(p);
      } catch (e) {
        console.error('ladle: onProgress threw:', e);
      }
    }
  };

  // Something on the terminal before the first (maybe slow) task is done.
  bar?.write(`\r${formatProgress(info())}\x1b[K`);
  return {
    taskDone(taskFailed: boolean): void {
      if (finished) return;
      done++;
      if (taskFailed) failed++;
      const wait = last + INTERVAL_MS - performance.now();
      if (wait <= 0) emit();
      else timer ??= setTimeout(emit, wait); // trailing call: a burst's end is reported too
    },
    finish(): void {
      if (finished) return;
      finished = true;
      emit();
      bar?.write('\n');
    },
  };
}

/** One line: `[#####---] 420/1000  42%  123/s  ETA 5s`, or `420 done  123/s` without a total. */
export function formatProgress(p: ProgressInfo): string {
  const rate = `${p.rate < 10 ? p.rate.toFixed(1) : Math.round(p.rate)}/s`;
  const failed = p.failed > 0 ? `  ${p.failed} failed` : '';
  if (p.total === undefined) return `${p.done} done  ${rate}${failed}`;
  const fraction = p.total > 0 ? Math.min(1, p.done / p.total) : 1;
  const filled = Math.round(fraction * BAR_WIDTH);
  const eta = p.etaMs === undefined ? '' : `  ETA ${formatDuration(p.etaMs)}`;
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
  return `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${p.done}/${p.total} ${percent}  ${rate}${eta}${failed}`;
}

function formatDuration(ms: number): string {
  const s = Math.ceil(ms / 1000);
  if (s < 60) return `${s}s`;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  return `${Math.floor(s / 3600)}h${pad(Math.floor(s / 60) % 60)}m`;
}
