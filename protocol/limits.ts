// The limits a coordinator enforces, defined once: the coordinator's
// validators apply them, its welcome tells each SDK client the values in
// force, and the SDK checks options and sizes against them before sending,
// so a bad option or an oversized argument fails only its own call.

import { needsError } from './needs.ts';
import type { TaskOutcome } from './messages.ts';

const MiB = 1024 * 1024;

/** The longest task timeout: what a page's setTimeout can wait (2**31-1 ms, about 24.8 days). */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;
/** The most attempts a task may ask for. */
export const MAX_ATTEMPTS = 100;
/** The longest grace period a client may ask for (15 minutes): a session
 * whose client is away may keep volunteers busy and its results in the
 * coordinator's memory for that long. */
export const MAX_GRACE_MS = 15 * 60 * 1000;
/** Room a frame needs beside one task's arguments or one result: ids, names, the envelope. */
export const FRAME_OVERHEAD_BYTES = 64 * 1024;
/** The largest message a page accepts from another page over WebRTC (a
 * larger one closes the link): lent subtasks and the constants that go with
 * them, and results sent back, keep under it. */
export const PEER_MESSAGE_BYTES = 64 * MiB;
/** The largest --max-task-bytes: the SDK accepts frames up to 256 MiB. */
export const MAX_TASK_BYTES_CEILING = 192 * MiB;

/** The limits in force at a coordinator, as its welcome states them. */
export interface Limits {
  /** The largest WebSocket frame the coordinator accepts, in bytes. */
  frameBytes: number;
  /** The largest packed arguments one task may carry, in bytes; also the
   * most a client's shared constants may add up to. */
  taskBytes: number;
  /** The largest packed result a task may return, in bytes. */
  resultBytes: number;
  /** The longest task timeout, in ms. */
  timeout: number;
  /** The most attempts a task may ask for. */
  attempts: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  frameBytes: 64 * MiB,
  taskBytes: 32 * MiB,
  resultBytes: 16 * MiB,
  timeout: MAX_TIMEOUT_MS,
  attempts: MAX_ATTEMPTS,
});

/** The limits for a coordinator's options. Without `maxPayload` frames grow
 * to carry the largest task allowed; with it, tasks and results shrink to fit
 * in a frame. Throws a RangeError for values out of bounds. */
export function coordinatorLimits(o: { maxPayload?: number; maxTaskBytes?: number; maxResultBytes?: number } = {}): Limits {
  const whole = (n: number, name: string, max: number) => {
    if (!Number.isInteger(n) || n < 1 || n > max) throw new RangeError(`${name} must be a whole number of bytes from 1 to ${max}, not ${String(n)}`);
    return n;
  };
  const fit = (frame: number) => Math.max(1, frame - FRAME_OVERHEAD_BYTES);
  let frameBytes: number;
  let taskBytes: number;
  if (o.maxPayload !== undefined) {
    frameBytes = whole(o.maxPayload, 'maxPayload', MAX_TASK_BYTES_CEILING + FRAME_OVERHEAD_BYTES);
    taskBytes = whole(o.maxTaskBytes ?? Math.min(DEFAULT_LIMITS.taskBytes, fit(frameBytes)), 'maxTaskBytes', MAX_TASK_BYTES_CEILING);
  } else {
    taskBytes = whole(o.maxTaskBytes ?? DEFAULT_LIMITS.taskBytes, 'maxTaskBytes', MAX_TASK_BYTES_CEILING);
    frameBytes = Math.max(DEFAULT_LIMITS.frameBytes, taskBytes + FRAME_OVERHEAD_BYTES);
  }
  if (taskBytes > fit(frameBytes)) throw new RangeError(`maxTaskBytes (${taskBytes}) must leave ${FRAME_OVERHEAD_BYTES} bytes of a frame (maxPayload ${frameBytes})`);
  const resultBytes = whole(o.maxResultBytes ?? Math.min(DEFAULT_LIMITS.resultBytes, fit(frameBytes)), 'maxResultBytes', fit(frameBytes));
  return { frameBytes, taskBytes, resultBytes, timeout: MAX_TIMEOUT_MS, attempts: MAX_ATTEMPTS };
}

/** Why a task's options are refused, naming the option; undefined when they are fine. */
export function taskOptionsError(
  o: { timeout?: unknown; attempts?: unknown; needs?: unknown; verify?: unknown },
  limits: Pick<Limits, 'timeout' | 'attempts'> = DEFAULT_LIMITS,
): string | undefined {
  const { timeout, attempts } = o;
  if (o.needs !== undefined) {
    const error = needsError(o.needs);
    if (error) return error;
  }
  if (o.verify !== undefined) {
    const error = verifyError(o.verify);
    if (error) return error;
  }
  if (timeout !== undefined && !(Number.isInteger(timeout) && (timeout as number) >= 1 && (timeout as number) <= limits.timeout)) {
    return `timeout is a whole number of milliseconds from 1 to ${limits.timeout}; got ${String(timeout)}`;
  }
  if (attempts !== undefined && !(Number.isInteger(attempts) && (attempts as number) >= 1 && (attempts as number) <= limits.attempts)) {
    return `attempts is a whole number from 1 to ${limits.attempts}; got ${String(attempts)}`;
  }
  return undefined;
}

/** The most distinct pages `verify: n` may ask for (each runs the task). */
export const MAX_VERIFY = 9;

/** How a task's results are verified: `n` distinct pages must mostly agree,
 * 'adaptive' checks untrusted pages always and trusted ones at random, 'off'
 * overrides a grid's default. */
export type VerifyOption = number | 'adaptive' | 'off';

/** Why a `verify` option is refused, or undefined. */
export function verifyError(verify: unknown): string | undefined {
  if (verify === 'adaptive' || verify === 'off') return undefined;
  if (Number.isInteger(verify) && (verify as number) >= 2 && (verify as number) <= MAX_VERIFY) return undefined;
  const got = typeof verify === 'string' ? JSON.stringify(verify.slice(0, 40)) : typeof verify === 'object' ? 'an object' : String(verify);
  const hint = verify === 1 ? ' (one page\'s result is what a task gets without verify)' : '';
  return `verify is 'adaptive', 'off', or how many distinct pages run each task, a whole number from 2 to ${MAX_VERIFY}; got ${got}${hint}`;
}

/** The longest job name, in characters. */
export const MAX_JOB_NAME = 100;
/** The highest job priority (a weight among one client's jobs). */
export const MAX_PRIORITY = 100;
/** A job name shows on dashboards: printable text only. */
// eslint-disable-next-line no-control-regex -- control characters are what it refuses
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/** Why a job's name or priority is refused, naming the option; undefined when they are fine. */
export function jobOptionsError(o: { name?: unknown; priority?: unknown }): string | undefined {
  const { name, priority } = o;
  if (name !== undefined && !(typeof name === 'string' && name.trim().length > 0 && name.length <= MAX_JOB_NAME && !CONTROL.test(name))) {
    return `name is text of 1 to ${MAX_JOB_NAME} characters without control characters; got ${typeof name === 'string' ? JSON.stringify(name.slice(0, 120)) : String(name)}`;
  }
  if (priority !== undefined && !(Number.isInteger(priority) && (priority as number) >= 1 && (priority as number) <= MAX_PRIORITY)) {
    return `priority is a whole number from 1 to ${MAX_PRIORITY}; got ${String(priority)}`;
  }
  return undefined;
}

/** Why a task's packed arguments are refused (too large), or undefined. */
export function taskBytesError(fn: string, bytes: number, limits: Pick<Limits, 'taskBytes'>): string | undefined {
  if (bytes <= limits.taskBytes) return undefined;
  return (
    `the arguments of ${fn} are ${bytes} bytes packed; a task may carry at most ${limits.taskBytes} ` +
    `(raise it with the coordinator's --max-task-bytes, or split the data over several tasks)`
  );
}

/** Why a task's packed result is refused (too large), or undefined. Pages
 * check it before sending, so a result too large for a frame fails alone
 * instead of closing the page's connection; the coordinator checks again. */
export function resultBytesError(bytes: number, limits: Pick<Limits, 'resultBytes'>): string | undefined {
  if (bytes <= limits.resultBytes) return undefined;
  return `the task's result is ${bytes} bytes packed; a result may be at most ${limits.resultBytes} (return less, or split the work over more tasks)`;
}

/** `outcome`, or, for a result over `resultBytes`, the failure that takes
 * its place (kind `tooLarge`: the SDK's ERR_TOO_LARGE). One rule wherever a
 * result leaves: a page's report, a page's answer to a peer, local mode, and
 * the coordinator (which checks again whatever a page says). */
export function withinResultLimit(outcome: TaskOutcome, limits: Pick<Limits, 'resultBytes'>): TaskOutcome {
  const tooLarge = outcome.ok ? resultBytesError(outcome.value.byteLength, limits) : undefined;
  return tooLarge === undefined ? outcome : { id: outcome.id, ok: false, kind: 'tooLarge', error: { name: 'ResultTooLargeError', message: tooLarge } };
}

/** Why shared constants adding up to `bytes` are refused, or undefined. */
export function sharedBytesError(bytes: number, limits: Pick<Limits, 'taskBytes'>): string | undefined {
  if (bytes <= limits.taskBytes) return undefined;
  return (
    `shared constants would add up to ${bytes} bytes packed; a client may share at most ${limits.taskBytes} ` +
    `(raise it with the coordinator's --max-task-bytes)`
  );
}

/** What a task adds to a frame at most: its arguments plus its fields. */
export function taskFrameBytes(task: { fn: string; args: Uint8Array }): number {
  return task.args.byteLength + 3 * task.fn.length + 256;
}

type SizedOutcome =
  | { ok: true; value: Uint8Array }
  | { ok: false; error: { name: string; message: string; stack?: string; code?: string | number; props?: Uint8Array; dropped?: string[]; value?: Uint8Array } };

/** What an outcome adds to a frame at most: its value, or its error's
 * fields (3 bytes a character of text at most), plus the rest. */
export function outcomeFrameBytes(outcome: SizedOutcome): number {
  if (outcome.ok) return outcome.value.byteLength + 256;
  const e = outcome.error;
  const text = e.name.length + e.message.length + (e.stack?.length ?? 0) + String(e.code ?? '').length + (e.dropped ?? []).reduce((n, d) => n + d.length + 1, 0);
  return 3 * text + (e.props?.byteLength ?? 0) + (e.value?.byteLength ?? 0) + 1024;
}
