// Errors a Future can reject with, and errors of the connection itself.
import type { RemoteErrorInfo, TaskOutcome } from '../protocol/messages.ts';

/** A task threw: carries the remote error's name, message and stack. */
export class RemoteError extends Error {
  override name = 'RemoteError';
  readonly remoteName: string;
  readonly remoteMessage: string;
  readonly remoteStack: string | undefined;
  constructor(info: RemoteErrorInfo) {
    super(`${info.name}: ${info.message}`);
    this.remoteName = info.name;
    this.remoteMessage = info.message;
    this.remoteStack = info.stack;
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
export function outcomeError(outcome: Extract<TaskOutcome, { ok: false }>): Error {
  switch (outcome.kind) {
    case 'lost':
      return new TaskLostError(outcome.error.message);
    case 'timeout':
      return new TimeoutError(outcome.error.message);
    case 'cancelled':
      return new CancelledError(outcome.error.message);
    default:
      return new RemoteError(outcome.error);
  }
}
