// Errors a Future can reject with, and errors of the connection itself.
// Every one is a LadleError with a stable `code`: messages may change
// between versions, codes do not.
import type { RemoteErrorInfo, TaskOutcome } from '../protocol/messages.ts';
import type { CloneProblem } from '../protocol/clone-check.ts';
import { unpack } from '../protocol/codec.ts';

/** The stable codes of LadleError, one per kind of failure. */
export const ErrorCode = {
  /** The task's own code threw (RemoteError). */
  REMOTE: 'ERR_REMOTE',
  /** A wait or a task ran out of time (TimeoutError). */
  TIMEOUT: 'ERR_TIMEOUT',
  /** The future was cancelled (CancelledError). */
  CANCELLED: 'ERR_CANCELLED',
  /** Every page that tried the task was lost (TaskLostError). */
  TASK_LOST: 'ERR_TASK_LOST',
  /** The coordinator could not be reached, refused us, or went away (ConnectionError). */
  CONNECTION: 'ERR_CONNECTION',
  /** A task's arguments, a result, a shared constant or a frame is over a limit. */
  TOO_LARGE: 'ERR_TOO_LARGE',
  /** An option (a task's timeout or attempts, connect's grace...) is outside what the grid accepts. */
  INVALID_OPTION: 'ERR_INVALID_OPTION',
  /** The client has as many unfinished tasks as the coordinator allows; the task was not queued. */
  TOO_MANY_TASKS: 'ERR_TOO_MANY_TASKS',
  /** A value (an argument, a result, a shared constant) that structured clone would refuse or change (DataCloneError). */
  DATA_CLONE: 'ERR_DATA_CLONE',
  /** A verified task's results did not agree (see handle.with({ verify })). */
  VERIFICATION: 'ERR_VERIFICATION',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The base of every error Ladle raises for a task or its connection. */
export class LadleError extends Error {
  override name = 'LadleError';
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** A task threw. `remoteName`, `remoteMessage` and `remoteStack` are the
 * remote error's; `remoteStack` names the task module's own files and lines
 * where the SDK holds the bundle's source map, and `stack` shows those remote
 * frames too. `remoteCode` is the error's `code`; `remoteProps` its other own
 * enumerable properties that could be copied (the names of those that could
 * not are in `remoteDropped`). A task that threw something other than an
 * Error keeps it in `remoteValue` when it could be copied. */
export class RemoteError extends LadleError {
  override name = 'RemoteError';
  readonly remoteName: string;
  readonly remoteMessage: string;
  readonly remoteStack: string | undefined;
  readonly remoteCode: string | number | undefined;
  readonly remoteProps: Readonly<Record<string, unknown>>;
  readonly remoteDropped: readonly string[];
  readonly remoteValue: unknown;
  constructor(info: RemoteErrorInfo, mapStack: (stack: string) => string = (s) => s) {
    super(ErrorCode.REMOTE, `${info.name}: ${info.message}`);
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
export class DataCloneError extends LadleError {
  override name = 'DataCloneError';
  readonly path: string;
  constructor(problem: CloneProblem) {
    super(ErrorCode.DATA_CLONE, `${problem.path} cannot be copied: it is ${problem.what}`);
    this.path = problem.path;
  }
}

/** A wait ran out of time. The awaited work goes on. */
export class TimeoutError extends LadleError {
  override name = 'TimeoutError';
  constructor(message: string) {
    super(ErrorCode.TIMEOUT, message);
  }
}

/** The future was cancelled before it ran. */
export class CancelledError extends LadleError {
  override name = 'CancelledError';
  constructor(message: string) {
    super(ErrorCode.CANCELLED, message);
  }
}

/** The grid could not run the task: every page that tried it was lost. */
export class TaskLostError extends LadleError {
  override name = 'TaskLostError';
  constructor(message: string) {
    super(ErrorCode.TASK_LOST, message);
  }
}

/** A verified task's replicas did not agree: no quorum formed among `runs`
 * results from distinct pages, which were `distinct` different results (a
 * task that is not deterministic, or too many pages that lie or are broken). */
export class VerificationError extends LadleError {
  override name = 'VerificationError';
  constructor(
    message: string,
    readonly distinct: number,
    readonly runs: number,
  ) {
    super(ErrorCode.VERIFICATION, message);
  }
}

/** The coordinator could not be reached, refused us, or went away. `code` is
 * ERR_CONNECTION, or a more precise one (ERR_TOO_LARGE when it closed the
 * connection over a frame too big). */
export class ConnectionError extends LadleError {
  override name = 'ConnectionError';
  constructor(message: string, code: ErrorCode = ErrorCode.CONNECTION) {
    super(code, message);
  }
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
    case 'invalid':
      return new LadleError(ErrorCode.INVALID_OPTION, outcome.error.message);
    case 'tooLarge':
      return new LadleError(ErrorCode.TOO_LARGE, outcome.error.message);
    case 'tooMany':
      return new LadleError(ErrorCode.TOO_MANY_TASKS, outcome.error.message);
    case 'unverified':
      return new VerificationError(outcome.error.message, outcome.verify?.distinct ?? 0, outcome.verify?.runs ?? 0);
    default:
      return new RemoteError(outcome.error, mapStack);
  }
}
