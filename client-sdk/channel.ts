// The SDK's link to the coordinator: a WebSocket that says hello, numbers
// its frames and keeps them until acknowledged, and after a dropped
// connection reconnects with exponential backoff and resumes the session,
// so that a short network blip costs nothing. Every way it can fail ends in
// a ConnectionError with a reason a person can act on.
import WebSocket from 'ws';
import {
  CLIENT_CLOSED,
  PROTOCOL_VERSION,
  WS_PATH,
  decodeFrame,
  encodeFrame,
  parseToClient,
  type ClientData,
  type ClientHello,
  type ToClient,
  type ToClientData,
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

type Welcome = Extract<ToClient, { t: 'welcome' }>;
type Unsequenced<T> = T extends unknown ? Omit<T, 'seq'> : never;

/** Opens a socket and says hello. Frames after the welcome go to `onFrame`
 * from the same tick, so none can slip by between welcome and listener. */
function openSocket(url: string, hello: ClientHello, timeoutMs: number, onFrame: (msg: ToClient) => void): Promise<{ ws: WebSocket; welcome: Welcome }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { maxPayload: 256 * 1024 * 1024 });
    let settled = false;
    const fail = (message: string, fatal: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      ws.terminate();
      reject(Object.assign(new ConnectionError(message), { fatal }));
    };
    const timer = setTimeout(() => fail(`no answer from the coordinator at ${url} within ${timeoutMs} ms`, false), timeoutMs);
    ws.on('error', (e: NodeJS.ErrnoException) => {
      const code = e.code ? ` (${e.code})` : '';
      fail(`cannot reach the coordinator at ${url}${code}: ${e.message}. Is \`ladle coordinator\` running there?`, false);
    });
    ws.on('close', (code, reason) => {
      const why = reason.toString() || `code ${code}`;
      if (why === 'invalid token') fail(`the coordinator refused the token (${why}); check LADLE_TOKEN or the token option`, true);
      else if (why === 'session expired') fail('the coordinator no longer knows this session (it restarted, or the grace period passed)', true);
      else fail(`the coordinator closed the connection: ${why}`, code === 1008);
    });
    ws.on('open', () => ws.send(encodeFrame(hello)));
    ws.once('message', (data: Buffer) => {
      let welcome: ToClient;
      try {
        welcome = decodeFrame(data, parseToClient);
        if (welcome.t !== 'welcome') throw new Error(`expected welcome, got ${welcome.t}`);
      } catch (e) {
        fail(`the coordinator sent an unexpected first message: ${(e as Error).message}`, true);
        return;
      }
      settled = true;
      clearTimeout(timer);
      ws.removeAllListeners();
      ws.on('message', (frame: Buffer) => {
        try {
          onFrame(decodeFrame(frame, parseToClient));
        } catch (e) {
          console.error('ladle: dropping a malformed frame from the coordinator:', (e as Error).message);
        }
      });
      resolve({ ws, welcome });
    });
  });
}

export interface ChannelOptions {
  url: string;
  token: string;
  connectTimeout: number;
  /** How long to keep trying to resume after the connection drops. */
  grace: number;
  onData: (msg: ToClientData) => void;
  /** The session is gone for good: pending work cannot complete. */
  onLost: (error: ConnectionError) => void;
}

export class Channel {
  private ws!: WebSocket;
  clientId = '';
  private secret = '';
  private sent = 0;
  private retained: { seq: number; bytes: Uint8Array }[] = [];
  /** The last coordinator frame processed. */
  private received = 0;
  private ackQueued = false;
  private closed = false;
  private reconnecting = false;

  private constructor(private readonly options: ChannelOptions) {}

  static async open(options: ChannelOptions): Promise<Channel> {
    const channel = new Channel(options);
    await channel.connect(undefined);
    return channel;
  }

  get connected(): boolean {
    return !this.reconnecting && this.ws.readyState === WebSocket.OPEN;
  }

  send(msg: Unsequenced<ClientData>): void {
    const bytes = encodeFrame({ ...msg, seq: ++this.sent } as ClientData);
    this.retained.push({ seq: this.sent, bytes });
    if (this.connected) this.ws.send(bytes);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ws.readyState !== WebSocket.OPEN) {
      this.ws.terminate();
      return;
    }
    await new Promise<void>((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close(1000, CLIENT_CLOSED);
    });
  }

  /** Test and diagnostics hook: the current socket. */
  get socket(): WebSocket {
    return this.ws;
  }

  private async connect(resume: ClientHello['resume']): Promise<void> {
    const hello: ClientHello = { t: 'hello', role: 'client', token: this.options.token, version: PROTOCOL_VERSION, grace: this.options.grace, resume };
    const { ws, welcome } = await openSocket(this.options.url, hello, this.options.connectTimeout, (msg) => this.onFrame(msg));
    this.ws = ws;
    this.clientId = welcome.clientId;
    this.secret = welcome.secret;
    this.reconnecting = false;
    // Resend what the coordinator had not processed when the old socket died.
    this.acked(welcome.ack);
    for (const frame of this.retained) ws.send(frame.bytes);
    ws.on('close', () => this.onClose(ws));
    ws.on('error', () => undefined); // 'close' follows
  }

  private onFrame(msg: ToClient): void {
    if (msg.t === 'ack') {
      this.acked(msg.seq);
      return;
    }
    if (msg.t === 'welcome') return;
    if (msg.seq <= this.received) return; // resent after a reconnect, already seen
    this.received = msg.seq;
    this.scheduleAck();
    this.options.onData(msg);
  }

  private acked(seq: number): void {
    let i = 0;
    while (i < this.retained.length && this.retained[i].seq <= seq) i++;
    if (i > 0) this.retained = this.retained.slice(i);
  }

  private scheduleAck(): void {
    if (this.ackQueued) return;
    this.ackQueued = true;
    setImmediate(() => {
      this.ackQueued = false;
      if (this.connected) this.ws.send(encodeFrame({ t: 'ack', seq: this.received }));
    });
  }

  private onClose(ws: WebSocket): void {
    if (ws !== this.ws || this.closed) return;
    this.reconnecting = true;
    void this.reconnect();
  }

  /** Retries with exponential backoff until resumed, refused, or out of grace. */
  private async reconnect(): Promise<void> {
    const deadline = Date.now() + this.options.grace;
    let delay = 100;
    let last = 'the connection dropped';
    while (!this.closed && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(0, deadline - Date.now()))));
      delay = Math.min(delay * 2, 5000);
      if (this.closed) return;
      try {
        await this.connect({ clientId: this.clientId, secret: this.secret, ack: this.received });
        return;
      } catch (e) {
        last = (e as Error).message;
        if ((e as { fatal?: boolean }).fatal) break;
      }
    }
    if (this.closed) return;
    this.closed = true;
    this.options.onLost(new ConnectionError(`the connection to the coordinator was lost and could not be resumed: ${last}`));
  }
}
