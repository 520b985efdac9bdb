// Errors a Future can reject with, and errors of the connection itself.
import type { RemoteErrorInfo, TaskOutcome } from '../protocol/messages.ts';
import type { CloneProblem } from '../protocol/clone-check.ts';
import { unpack } from '../protocol/codec.ts';

/** A task threw. `remoteName`, `remoteMessage` and `remoteStack` are the
 * remote error's; `remoteStack` names the task module's own files and lines
 * where the SDK holds the bundle's source map, and `stack` shows those remote
 * frames too. `remoteCode` is the error's `code`; `remoteProps` its other own
 * enumerable properties that could be copied (the names of those that could
 * not are in `remoteDropped`). A task that threw something other than an
 * Error keeps it in `remoteValue` when it could be copied. */
export class RemoteError extends Error {
  override name = 'RemoteError';
  readonly remoteName: string;
  readonly remoteMessage: string;
  readonly remoteStack: string | undefined;
  readonly remoteCode: string | number | undefined;
  readonly remoteProps: Readonly<Record<string, unknown>>;
  readonly remoteDropped: readonly string[];
  readonly remoteValue: unknown;
  constructor(info: RemoteErrorInfo, mapStack: (stack: string) => string = (s) => s) {
    super(`${info.name}: ${info.message}`);
    this.remoteName = info.name;
    this.remoteMessage = info.message;
    this.remoteStack = info.stack === undefined ? undefined : mapStack(info.stack);
    this.remoteCode = info.code;
    const props = info.props === undefined ? undefined : decoded(info.props);
    this.remoteProps = typeof props === 'object' && props !== null ? (props as Record<string, unknown>) : {};
    this.remoteDropped = info.dropped ?? [];
    this.remoteValue = info.value === undefined ? undefined : decoded(info.value);
    // Where it went wrong is in the task, not where the SDK got the news.
    const frames = this.remoteStack?.split('\n').filter((line) => /^\s+at /.test(line));
    if (frames && frames.length > 0) this.stack = `${this.name}: ${this.message}\n${frames.join('\n')}`;
  }
}

function decoded(bytes: Uint8Array): unknown {
  try {
    return unpack(bytes);
  } catch {
    return undefined; // the page checked it: bytes that do not decode are not the task's
  }
}

/** A value cannot be copied to or from a task (structured clone would refuse
 * it, or change it): `path` says where it is, as in `args[0].f`. */
export class DataCloneError extends Error {
  override name = 'DataCloneError';
  readonly code = 'ERR_DATA_CLONE';
  readonly path: string;
  constructor(problem: CloneProblem) {
    super(`${problem.path} cannot be copied: it is ${problem.what}`);
    this.path = problem.path;
  }
}

/** A wait ran out of time. The awaited work goes on. */
export class TimeoutError extends Error {
  override name = 'TimeoutError';
}

/** The future was cancelled before it ran. */
export class CancelledError extends Error {
  override name = 'CancelledError';
}

/** The grid could not run the task: every page that tried it was lost. */
export class TaskLostError extends Error {
  override name = 'TaskLostError';
}

/** The coordinator could not be reached, refused us, or went away. */
export class ConnectionError extends Error {
  override name = 'ConnectionError';
}

/** The error a future rejects with for a failed outcome. */
export function outcomeError(outcome: Extract<TaskOutcome, { ok: false }>, mapStack?: (stack: string) => string): Error {
  switch (outcome.kind) {
    case 'lost':
      return new TaskLostError(outcome.error.message);
    case 'timeout':
      return new TimeoutError(outcome.error.message);
    case 'cancelled':
      return new CancelledError(outcome.error.message);
    default:
      return new RemoteError(outcome.error, mapStack);
  }
}
