// The SDK's link to the coordinator: a WebSocket that says hello, numbers
// its frames and keeps them until acknowledged, and after a dropped
// connection reconnects with exponential backoff and resumes the session,
// so that a short network blip costs nothing. Every way it can fail ends in
// a ConnectionError with a reason a person can act on.
import WebSocket from 'ws';
import { ACK_DELAY_MS, ReliableLog } from '../protocol/reliable-log.ts';
import {
  CLIENT_CLOSED,
  CloseCode,
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
import { DEFAULT_LIMITS, type Limits } from '../protocol/limits.ts';
import { ConnectionError, ErrorCode } from '../futures/errors.ts';
import { after } from '../futures/long-timer.ts';

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

/** A ConnectionError for a close by the coordinator; `fatal` when trying
 * again cannot help (the session is gone, or the same frame would be refused again). */
function closeError(code: number, reason: string): ConnectionError & { fatal: boolean } {
  const why = reason || `code ${code}`;
  const error = (message: string, fatal: boolean, errorCode: ErrorCode = ErrorCode.CONNECTION) =>
    Object.assign(new ConnectionError(message, errorCode), { fatal });
  switch (code) {
    case CloseCode.INVALID_TOKEN:
      return error(`the coordinator refused the token (${why}); check LADLE_TOKEN or the token option`, true);
    case CloseCode.SESSION_EXPIRED:
      return error('the coordinator no longer knows this session (it restarted, or the grace period passed)', true);
    case CloseCode.THROTTLED:
      return error(`the coordinator throttled this client: ${why}`, true);
    case CloseCode.PROTOCOL:
      return error(`the coordinator closed the connection over a protocol violation: ${why}`, true);
    case CloseCode.RESTARTING:
      return error(`the coordinator is restarting (${why})`, false);
    case CloseCode.SHUTDOWN:
      return error(`the coordinator shut down (${why}); its sessions ended with it`, true);
    case CloseCode.TOO_LARGE:
      return error(
        `the coordinator closed the connection because a frame was larger than it accepts (${code} message too big: ${why}); ` +
          "this client's pending work cannot be sent; raise the coordinator's limits (--max-task-bytes) or send smaller arguments",
        true,
        ErrorCode.TOO_LARGE,
      );
    default:
      return error(`the coordinator closed the connection: ${why}`, false);
  }
}
type Unsequenced<T> = T extends unknown ? Omit<T, 'seq'> : never;

/** Opens a socket and says hello. Frames after the welcome go to `onFrame`
 * from the same tick, so none can slip by between welcome and listener. */
function openSocket(url: string, hello: ClientHello, timeoutMs: number, onFrame: (msg: ToClient) => void): Promise<{ ws: WebSocket; welcome: Welcome }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { maxPayload: 256 * 1024 * 1024 });
    let settled = false;
    const fail = (error: ConnectionError & { fatal: boolean }) => {
      if (settled) return;
      settled = true;
      cancelTimer();
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      ws.terminate();
      reject(error);
    };
    const failWith = (message: string, fatal: boolean) => fail(Object.assign(new ConnectionError(message), { fatal }));
    const cancelTimer = after(timeoutMs, () => failWith(`no answer from the coordinator at ${url} within ${timeoutMs} ms`, false));
    ws.on('error', (e: NodeJS.ErrnoException) => {
      const code = e.code ? ` (${e.code})` : '';
      failWith(`cannot reach the coordinator at ${url}${code}: ${e.message}. Is \`ladle coordinator\` running there?`, false);
    });
    ws.on('close', (code, reason) => fail(closeError(code, reason.toString())));
    ws.on('open', () => ws.send(encodeFrame(hello)));
    ws.once('message', (data: Buffer) => {
      let welcome: ToClient;
      try {
        welcome = decodeFrame(data, parseToClient);
        if (welcome.t !== 'welcome') throw new Error(`expected welcome, got ${welcome.t}`);
      } catch (e) {
        failWith(`the coordinator sent an unexpected first message: ${(e as Error).message}`, true);
        return;
      }
      settled = true;
      cancelTimer();
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
  /** What the coordinator accepts, from its welcome. */
  limits: Limits = DEFAULT_LIMITS;
  private secret = '';
  /** Its frames both ways, kept until the coordinator acknowledges them. */
  private readonly log = new ReliableLog();
  private ackTimer: ReturnType<typeof setTimeout> | undefined;
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
    const bytes = this.log.push((seq) => encodeFrame({ ...msg, seq }));
    if (this.connected) this.ws.send(bytes);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Closing ends the session: nothing is resent, so no ack is owed.
    clearTimeout(this.ackTimer);
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
    this.limits = welcome.limits ?? DEFAULT_LIMITS;
    this.reconnecting = false;
    // Resend what the coordinator had not processed when the old socket died.
    this.log.ack(welcome.ack);
    for (const bytes of this.log.after(welcome.ack)) ws.send(bytes);
    ws.on('close', (code, reason) => this.onClose(ws, code, reason.toString()));
    ws.on('error', () => undefined); // 'close' follows
  }

  private onFrame(msg: ToClient): void {
    if (msg.t === 'ack') {
      this.log.ack(msg.seq);
      return;
    }
    if (msg.t === 'welcome') return;
    if (!this.log.accept(msg.seq)) return; // resent after a reconnect, already seen
    this.scheduleAck();
    this.options.onData(msg);
  }

  /** Acks leave ACK_DELAY_MS after a frame, or at once past ACK_EVERY (see reliable-log.ts). */
  private scheduleAck(): void {
    const send = () => {
      clearTimeout(this.ackTimer);
      this.ackTimer = undefined;
      // Not connected: the resume names what was received instead.
      const ack = this.log.takeAck();
      if (ack !== undefined && this.connected) this.ws.send(encodeFrame({ t: 'ack', seq: ack }));
    };
    if (this.log.ackUrgent) setImmediate(send);
    else this.ackTimer ??= setTimeout(send, ACK_DELAY_MS).unref();
  }


  private onClose(ws: WebSocket, code: number, reason: string): void {
    if (ws !== this.ws || this.closed) return;
    const error = closeError(code, reason);
    if (error.fatal) {
      // Resuming would resend what was refused, or find the session gone: fail now.
      this.closed = true;
      this.options.onLost(error);
      return;
    }
    this.reconnecting = true;
    void this.reconnect();
  }

  /** Retries with exponential backoff until resumed, refused, or out of grace. */
  private async reconnect(): Promise<void> {
    const deadline = Date.now() + this.options.grace;
    let delay = 100;
    let last = new ConnectionError('the connection dropped');
    while (!this.closed && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(0, deadline - Date.now()))));
      delay = Math.min(delay * 2, 5000);
      if (this.closed) return;
      try {
        await this.connect({ clientId: this.clientId, secret: this.secret, ack: this.log.received });
        return;
      } catch (e) {
        last = e instanceof ConnectionError ? e : new ConnectionError((e as Error).message);
        if ((e as { fatal?: boolean }).fatal) break;
      }
    }
    if (this.closed) return;
    this.closed = true;
    this.options.onLost(new ConnectionError(`the connection to the coordinator was lost and could not be resumed: ${last.message}`, last.code));
  }
}
