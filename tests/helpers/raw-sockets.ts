// Raw sockets speaking the protocol, for tests that play a hostile page or
// client against a real coordinator.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { WebSocket } from 'ws';
import type { Coordinator } from '../../coordinator/coordinator.ts';
import { PROTOCOL_VERSION, decodeFrame, encodeFrame, parseToClient, parseToPage, type PageReport, type TaskOutcome, type TaskSpec, type ToPage } from '../../protocol/messages.ts';

/** Resolves once `check` returns something, looked at after each frame; fails after `ms`. */
export function when<T>(ws: WebSocket, check: () => T | undefined, what: string, ms = 60_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const look = () => {
      const found = check();
      if (found === undefined) return false;
      clearTimeout(timer);
      ws.off('message', onMessage);
      resolve(found);
      return true;
    };
    const onMessage = () => void setImmediate(look);
    const timer = setTimeout(() => {
      ws.off('message', onMessage);
      reject(new Error(`timed out waiting for ${what}`));
    }, ms);
    if (!look()) ws.on('message', onMessage);
  });
}

/** A page played by a raw socket: it answers pings and keeps every other frame. */
export class RawPage {
  readonly frames: ToPage[] = [];
  private constructor(readonly ws: WebSocket) {}

  static async join(c: Coordinator, threads: number, onFrame?: (page: RawPage, msg: ToPage) => void, hello: { lanes?: boolean } = {}): Promise<RawPage> {
    const ws = new WebSocket(`ws://127.0.0.1:${c.port}/ws`);
    const page = new RawPage(ws);
    ws.on('message', (data: Buffer) => {
      const msg = decodeFrame(new Uint8Array(data), parseToPage);
      if (msg.t === 'ping') return ws.send(encodeFrame({ t: 'pong' }));
      page.frames.push(msg);
      onFrame?.(page, msg);
    });
    await once(ws, 'open');
    ws.send(encodeFrame({ t: 'hello', role: 'worker', threads, userAgent: 'raw test page', version: PROTOCOL_VERSION, ...hello }));
    await when(ws, () => page.frames.find((f) => f.t === 'welcome'), 'the welcome');
    return page;
  }

  get tasks(): TaskSpec[] {
    return this.frames.flatMap((f) => (f.t === 'tasks' ? f.tasks : []));
  }
  get results(): TaskOutcome[] {
    return this.frames.flatMap((f) => (f.t === 'results' ? f.results : []));
  }
  get cancelled(): number[] {
    return this.frames.flatMap((f) => (f.t === 'cancel' ? f.ids : []));
  }

  report(fields: Partial<PageReport>): void {
    this.ws.send(encodeFrame({ t: 'report', started: [], results: [], lost: [], submit: [], cancel: [], blocked: 0, ready: 0, local: 0, ...fields }));
  }
}

/** An SDK client played by a raw socket, to see its session id. */
export async function rawClient(c: Coordinator): Promise<{ ws: WebSocket; clientId: string }> {
  const ws = new WebSocket(`ws://127.0.0.1:${c.port}/ws`);
  await once(ws, 'open');
  ws.send(encodeFrame({ t: 'hello', role: 'client', token: c.token, version: PROTOCOL_VERSION }));
  const [data] = (await once(ws, 'message')) as [Buffer];
  const welcome = decodeFrame(new Uint8Array(data), parseToClient);
  assert.equal(welcome.t, 'welcome');
  return { ws, clientId: welcome.clientId };
}

