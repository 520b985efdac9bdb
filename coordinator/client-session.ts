// One SDK client's session: it outlives its socket for a grace period, and
// keeps every frame it sent until the client acknowledges it, so a client
// that reconnects gets exactly what it missed.
import { randomBytes, randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import type { RateLimit } from './auth.ts';
import type { ClientId, ScopeId } from './ids.ts';
import { DEFAULT_LIMITS, FRAME_OVERHEAD_BYTES } from '../protocol/limits.ts';
import { encodeFrame, type TaskOutcome, type ToClient, type ToClientData } from '../protocol/messages.ts';

type Unsequenced<T> = T extends unknown ? Omit<T, 'seq'> : never;

export class ClientSession {
  readonly id = randomUUID() as ClientId;
  /** What pages know its task tree by (see ScopeId). */
  readonly scope = randomUUID() as ScopeId;
  readonly secret = randomBytes(24).toString('base64url');
  ws: WebSocket | undefined;
  /** Shared constants, packed, by name: set once, read-only after. */
  readonly shared = new Map<string, Uint8Array>();
  /** Their bytes in all (held in memory until the session ends). */
  sharedBytes = 0;
  results: TaskOutcome[] = [];
  started: number[] = [];
  replies: Unsequenced<ToClientData>[] = [];
  /** The last client frame processed. */
  received = 0;
  private ackDue = false;
  private sent = 0;
  private retained: { seq: number; bytes: Uint8Array }[] = [];
  private graceTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly graceMs: number,
    /** The name of the token it authenticated with (for the dashboard). */
    readonly tokenName: string,
    /** Its submission budget. */
    readonly submits: RateLimit,
    /** The largest frame to send it: results beyond go in further frames. */
    private readonly frameBytes = DEFAULT_LIMITS.frameBytes,
  ) {}

  /** Sets shared constants (names not set before). */
  share(values: Record<string, Uint8Array>): void {
    for (const [name, value] of Object.entries(values)) {
      this.shared.set(name, value);
      this.sharedBytes += value.byteLength;
    }
  }

  get retainedCount(): number {
    return this.retained.length;
  }

  /** True for a new frame; false for one already processed (resent after a reconnect). */
  accept(seq: number): boolean {
    if (seq <= this.received) return false;
    this.received = seq;
    this.ackDue = true;
    return true;
  }

  acked(seq: number): void {
    let i = 0;
    while (i < this.retained.length && this.retained[i].seq <= seq) i++;
    if (i > 0) this.retained = this.retained.slice(i);
  }

  /** Binds a (new) socket and resends what the client has not seen. */
  attach(ws: WebSocket, welcome: Extract<ToClient, { t: 'welcome' }>, peerAck: number): void {
    clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    this.ws = ws;
    ws.send(encodeFrame(welcome));
    for (const frame of this.retained) if (frame.seq > peerAck) ws.send(frame.bytes);
  }

  /** The socket is gone; `expire` runs unless the client is back within the grace period. */
  detach(expire: () => void): void {
    this.ws = undefined;
    this.graceTimer = setTimeout(expire, this.graceMs);
  }

  end(): void {
    clearTimeout(this.graceTimer);
    this.ws = undefined;
  }

  /** Sends what accumulated this turn: replies, one results frame, an ack. */
  flush(): void {
    for (const reply of this.replies) this.sendData(reply);
    this.replies = [];
    if (this.results.length > 0 || this.started.length > 0) {
      // Large results are split over frames the client accepts.
      let started = this.started;
      let batch: TaskOutcome[] = [];
      let bytes = 0;
      for (const outcome of this.results) {
        const size = outcome.ok ? outcome.value.byteLength : outcome.error.message.length * 3 + (outcome.error.stack?.length ?? 0) * 3;
        if (batch.length > 0 && bytes + size > this.frameBytes - FRAME_OVERHEAD_BYTES) {
          this.sendData({ t: 'results', results: batch, started });
          started = [];
          batch = [];
          bytes = 0;
        }
        batch.push(outcome);
        bytes += size + 64;
      }
      this.sendData({ t: 'results', results: batch, started });
      this.results = [];
      this.started = [];
    }
    if (this.ackDue && this.ws) {
      this.ws.send(encodeFrame({ t: 'ack', seq: this.received }));
      this.ackDue = false;
    }
  }

  private sendData(msg: Unsequenced<ToClientData>): void {
    const bytes = encodeFrame({ ...msg, seq: ++this.sent });
    this.retained.push({ seq: this.sent, bytes });
    this.ws?.send(bytes);
  }
}
