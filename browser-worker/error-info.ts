// What a thrown value becomes on the wire.
import { packValue } from '../protocol/codec.ts';
import { scanClone } from '../protocol/clone-check.ts';
import type { CloneProblem } from '../protocol/clone-check.ts';
import { ERROR_LIMITS, type RemoteErrorInfo } from '../protocol/messages.ts';
import { DataCloneError } from '../futures/errors.ts';

/** What the SDK learns of a thrown value: an Error's name, message, stack,
 * `code` and other own properties (those that can be copied), or a thrown
 * non-Error value itself; all trimmed to the protocol's bounds. */
export function errorInfo(e: unknown): RemoteErrorInfo {
  try {
    return describeThrown(e);
  } catch {
    // A thrown object whose getters throw: say so rather than lose the task's failure.
    return { name: 'Error', message: 'the task threw a value that could not be read' };
  }
}

function describeThrown(e: unknown): RemoteErrorInfo {
  if (!(e instanceof Error)) {
    const info: RemoteErrorInfo = { name: 'Error', message: `a non-Error value was thrown: ${describe(e)}`.slice(0, ERROR_LIMITS.message) };
    const value = packValue(e, 'thrown');
    if (value instanceof Uint8Array && value.byteLength <= ERROR_LIMITS.bytes) info.value = value.slice();
    return info;
  }
  const info: RemoteErrorInfo = { name: String(e.name).slice(0, ERROR_LIMITS.name), message: String(e.message).slice(0, ERROR_LIMITS.message) };
  if (typeof e.stack === 'string') info.stack = e.stack.slice(0, ERROR_LIMITS.stack);
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string') info.code = code.slice(0, ERROR_LIMITS.code);
  else if (typeof code === 'number' && Number.isFinite(code)) info.code = code;
  const props: Record<string, unknown> = {};
  const dropped: string[] = [];
  let any = false;
  const names = Object.keys(e);
  if (Object.hasOwn(e, 'cause') && !names.includes('cause')) names.push('cause');
  for (const name of names) {
    if (name === 'name' || name === 'message' || name === 'stack' || name === 'code') continue;
    let value: unknown;
    try {
      value = (e as unknown as Record<string, unknown>)[name];
    } catch {
      dropped.push(name); // a getter that throws
      continue;
    }
    if (typeof scanClone(value, name) === 'object') dropped.push(name);
    else {
      props[name] = value;
      any = true;
    }
  }
  if (any) {
    const packed = packValue(props, 'props');
    if (packed instanceof Uint8Array && packed.byteLength <= ERROR_LIMITS.bytes) info.props = packed.slice();
    else dropped.push(...Object.keys(props));
  }
  if (dropped.length > 0) info.dropped = dropped.slice(0, ERROR_LIMITS.dropped).map((n) => n.slice(0, ERROR_LIMITS.name));
  return info;
}

function describe(e: unknown): string {
  try {
    return typeof e === 'string' ? JSON.stringify(e) : String(e);
  } catch {
    return Object.prototype.toString.call(e);
  }
}

/** A value a task produced that cannot be copied back: the stack would show
 * the runtime's frames, not the task's, so it is left out. */
export function cloneErrorInfo(problem: CloneProblem): RemoteErrorInfo {
  const error = errorInfo(new DataCloneError(problem));
  delete error.stack;
  return error;
}
