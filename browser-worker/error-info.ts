// What a thrown value becomes on the wire.
import type { RemoteErrorInfo } from '../protocol/messages.ts';

export function errorInfo(e: unknown): RemoteErrorInfo {
  if (e instanceof Error) return { name: e.name, message: e.message, stack: e.stack };
  return { name: 'Error', message: `a non-Error value was thrown: ${String(e)}` };
}
