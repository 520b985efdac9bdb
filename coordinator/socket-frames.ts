// How the hub's gateways read a socket: binary frames only, each parsed by
// protocol/messages.ts, and any frame that breaks the protocol closes the
// socket with a reason the peer can read. Shared by the hello (hub.ts), the
// client gateway and the page gateway, so every way in fails the same way.
import type { WebSocket, RawData } from 'ws';
import { CloseCode, ProtocolError, decodeFrame } from '../protocol/messages.ts';

export function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}

/** A client submitting far above the rate limit: its connection is closed. */
export class FloodError extends ProtocolError {}

/** Closes a socket that broke the protocol (or met a bug here, logged). */
export function reject(ws: WebSocket, e: unknown): void {
  const reason = e instanceof ProtocolError ? e.message : 'internal error';
  if (!(e instanceof ProtocolError)) console.error('ladle coordinator:', e);
  // Close reasons are limited to 123 bytes.
  ws.close(e instanceof FloodError ? CloseCode.THROTTLED : CloseCode.PROTOCOL, Buffer.from(reason).subarray(0, 123).toString());
}

/** Feeds a socket's frames to `handle`; a bad frame closes the socket,
 * after `onViolation` (a client that breaks the rules loses its session). */
export function listen<T>(ws: WebSocket, parse: (x: unknown) => T, handle: (msg: T) => void, onViolation?: () => void): void {
  ws.on('message', (data, isBinary) => {
    // Frames that were in flight when the socket began closing are ignored.
    if (ws.readyState !== ws.OPEN) return;
    try {
      if (!isBinary) throw new ProtocolError('frames must be binary');
      handle(decodeFrame(toBytes(data), parse));
    } catch (e) {
      onViolation?.();
      reject(ws, e);
    }
  });
}
