// Opens the SDK's WebSocket to the coordinator and says hello; turns every
// way that can fail into a ConnectionError with a reason a person can act on.
import WebSocket from 'ws';
import {
  PROTOCOL_VERSION,
  WS_PATH,
  decodeFrame,
  encodeFrame,
  parseToClient,
} from '../protocol/messages.ts';
import { ConnectionError } from './errors.ts';

export interface Endpoints {
  /** ws:// URL of the coordinator's socket. */
  ws: string;
  /** http:// base URL for uploads. */
  http: string;
}

/** Accepts http(s):// or ws(s):// URLs, with or without the socket path. */
export function endpoints(url: string): Endpoints {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ConnectionError(`"${url}" is not a URL; give the coordinator's address, e.g. http://127.0.0.1:8080`);
  }
  const secure = u.protocol === 'https:' || u.protocol === 'wss:';
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(u.protocol)) {
    throw new ConnectionError(`unsupported URL scheme ${u.protocol} in ${url}; use http:// or ws://`);
  }
  const origin = `${u.hostname.includes(':') ? `[${u.hostname}]` : u.hostname}${u.port ? `:${u.port}` : ''}`;
  return { ws: `${secure ? 'wss' : 'ws'}://${origin}${WS_PATH}`, http: `${secure ? 'https' : 'http'}://${origin}` };
}

export interface OpenedConnection {
  ws: WebSocket;
  clientId: string;
}

export function openConnection(url: string, token: string, timeoutMs: number): Promise<OpenedConnection> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { maxPayload: 256 * 1024 * 1024 });
    let settled = false;
    const fail = (message: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      ws.terminate();
      reject(new ConnectionError(message));
    };
    const timer = setTimeout(() => fail(`no answer from the coordinator at ${url} within ${timeoutMs} ms`), timeoutMs);
    ws.on('error', (e: NodeJS.ErrnoException) => {
      const code = e.code ? ` (${e.code})` : '';
      fail(`cannot reach the coordinator at ${url}${code}: ${e.message}. Is \`ladle coordinator\` running there?`);
    });
    ws.on('close', (code, reason) => {
      const why = reason.toString() || `code ${code}`;
      fail(why === 'invalid token' ? `the coordinator refused the token (${why}); check LADLE_TOKEN or the token option` : `the coordinator closed the connection: ${why}`);
    });
    ws.on('open', () => {
      ws.send(encodeFrame({ t: 'hello', role: 'client', token, version: PROTOCOL_VERSION }));
    });
    ws.once('message', (data: Buffer) => {
      try {
        const msg = decodeFrame(data, parseToClient);
        if (msg.t !== 'welcome') throw new Error(`expected welcome, got ${msg.t}`);
        settled = true;
        clearTimeout(timer);
        ws.removeAllListeners();
        resolve({ ws, clientId: msg.clientId });
      } catch (e) {
        fail(`the coordinator sent an unexpected first message: ${(e as Error).message}`);
      }
    });
  });
}
