// Progress of a map-like call: a callback at most ~10 times a second, and/or
// on stderr a one-line bar redrawn in place when it is a terminal, plain
// lines now and then when it is not (a log file, CI). Reaches `process` only
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
  /** Report on stderr: a bar on a terminal; otherwise a plain line at each
   * tenth of `total` and every 5 s, and one at the end. */
  progress?: boolean;
  /** How many calls in all, for the percentage and ETA when an input's
   * length cannot be known (a generator). */
  total?: number;
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
/** Plain lines (stderr not a terminal): at most this far apart while tasks finish... */
const PLAIN_INTERVAL_MS = 5000;
/** ...and one each time another tenth of the total is done. */
const PLAIN_STEPS = 10;
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
  knownTotal?: number,
  stream: ProgressStream | undefined = stderr(),
  now: () => number = () => performance.now(),
): ProgressTracker | undefined {
  const { onProgress } = options;
  if (onProgress !== undefined && typeof onProgress !== 'function') throw new TypeError('onProgress must be a function');
  if (options.total !== undefined && !(Number.isSafeInteger(options.total) && options.total >= 0)) {
    throw new TypeError(`total must be a whole number of at least 0, not ${String(options.total)}`);
  }
  const total = options.total ?? knownTotal;
  const bar = options.progress && stream?.isTTY ? stream : undefined;
  const plain = options.progress && stream && !stream.isTTY ? stream : undefined;
  if (!onProgress && !bar && !plain) return undefined;

  const start = now();
  let done = 0;
  let failed = 0;
  let last = -Infinity;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let finished = false;

  let lastLine = start;
  let lastStep = 0;
  let linedDone = 0;
  /** A plain line when another tenth is done or a while has passed. */
  const line = (): void => {
    if (!plain) return;
    const step = total ? Math.floor((Math.min(done, total) * PLAIN_STEPS) / total) : 0;
    if (step <= lastStep && now() - lastLine < PLAIN_INTERVAL_MS) return;
    lastStep = step;
    lastLine = now();
    linedDone = done;
    plain.write(`${formatPlain(info())}\n`);
  };

  const info = (): ProgressInfo => {
    const elapsedMs = now() - start;
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
    last = now();
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
      line();
      if (!onProgress && !bar) return;
      const wait = last + INTERVAL_MS - now();
      if (wait <= 0) emit();
      else timer ??= setTimeout(emit, wait); // trailing call: a burst's end is reported too
    },
    finish(): void {
      if (finished) return;
      finished = true;
      if (onProgress || bar) emit();
      bar?.write('\n');
      // The end, unless the last line said it already.
      if (linedDone !== done || done === 0) plain?.write(`${formatPlain(info())}\n`);
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

/** A line for a log: `ladle map: 420/1000 (42%)  123/s  ETA 5s`, or `ladle map: 420 done  123/s`. */
export function formatPlain(p: ProgressInfo): string {
  const rate = `${p.rate < 10 ? p.rate.toFixed(1) : Math.round(p.rate)}/s`;
  const failed = p.failed > 0 ? `  ${p.failed} failed` : '';
  if (p.total === undefined) return `ladle map: ${p.done} done  ${rate}${failed}`;
  const percent = p.total > 0 ? Math.floor(Math.min(1, p.done / p.total) * 100) : 100;
  const eta = p.etaMs === undefined ? '' : `  ETA ${formatDuration(p.etaMs)}`;
  return `ladle map: ${p.done}/${p.total} (${percent}%)  ${rate}${eta}${failed}`;
}

function formatDuration(ms: number): string {
  const s = Math.ceil(ms / 1000);
  if (s < 60) return `${s}s`;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  return `${Math.floor(s / 3600)}h${pad(Math.floor(s / 60) % 60)}m`;
}
