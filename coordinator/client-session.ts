// One SDK client's session: it outlives its socket for a grace period, and
// keeps every frame it sent until the client acknowledges it, so a client
// that reconnects gets exactly what it missed.
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { WebSocket } from 'ws';
import type { RateLimit } from './auth.ts';
import type { ClientId, ScopeId } from './ids.ts';
import { hashSecret } from './journal.ts';
import { DEFAULT_LIMITS, FRAME_OVERHEAD_BYTES } from '../protocol/limits.ts';
import { encodeFrame, type TaskOutcome, type ToClient, type ToClientData } from '../protocol/messages.ts';
import { ACK_DELAY_MS, ReliableLog } from '../protocol/reliable-log.ts';

type Unsequenced<T> = T extends unknown ? Omit<T, 'seq'> : never;

/** A session a restarted coordinator read from its store. */
export interface RestoredIdentity {
  id: ClientId;
  scope: ScopeId;
  secretHash: string;
  received: number;
}

export class ClientSession {
  readonly id: ClientId;
  /** What pages know its task tree by (see ScopeId). */
  readonly scope: ScopeId;
  /** Unknown ('') for a restored session until its client proves it (see verifies). */
  secret: string;
  /** What the store keeps instead of the secret. */
  readonly secretHash: string;
  /** Restored from the store, its client not back yet: nothing is sent until
   * it is, and then numbered after what the client last saw. */
  private awaitingResume: boolean;
  ws: WebSocket | undefined;
  /** Shared constants, packed, by name: set once, read-only after. */
  readonly shared = new Map<string, Uint8Array>();
  /** Their bytes in all (held in memory until the session ends). */
  sharedBytes = 0;
  results: TaskOutcome[] = [];
  started: number[] = [];
  replies: Unsequenced<ToClientData>[] = [];
  /** Its frames both ways; the frames it keeps are tagged with the ids of the results they carry. */
  private readonly log: ReliableLog<number[]>;
  /** When its socket was last heard from (a frame or a pong). */
  lastSeen = Date.now();
  private graceTimer: ReturnType<typeof setTimeout> | undefined;
  /** Armed while an ack waits to cover more frames (see reliable-log.ts). */
  private ackTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly graceMs: number,
    /** The name of the token it authenticated with (for the dashboard). */
    readonly tokenName: string,
    /** Its submission budget. */
    readonly submits: RateLimit,
    /** The largest frame to send it: results beyond go in further frames. */
    private readonly frameBytes = DEFAULT_LIMITS.frameBytes,
    restored?: RestoredIdentity,
  ) {
    this.id = restored?.id ?? (randomUUID() as ClientId);
    this.scope = restored?.scope ?? (randomUUID() as ScopeId);
    this.secret = restored ? '' : randomBytes(24).toString('base64url');
    this.secretHash = restored?.secretHash ?? hashSecret(this.secret);
    this.log = new ReliableLog(restored?.received ?? 0);
    this.awaitingResume = restored !== undefined;
  }

  /** Whether `secret` is this session's (compared by hash, in constant time). */
  verifies(secret: string): boolean {
    const ok = timingSafeEqual(Buffer.from(hashSecret(secret), 'hex'), Buffer.from(this.secretHash, 'hex'));
    if (ok) this.secret = secret;
    return ok;
  }

  /** Sets shared constants (names not set before). */
  share(values: Record<string, Uint8Array>): void {
    for (const [name, value] of Object.entries(values)) {
      this.shared.set(name, value);
      this.sharedBytes += value.byteLength;
    }
  }

  /** The last client frame processed. */
  get received(): number {
    return this.log.received;
  }

  /** Bytes of the frames kept until the client acknowledges them. */
  get retainedBytes(): number {
    return this.log.retainedBytes;
  }

  /** True for a new frame; false for one already processed (resent after a reconnect). */
  accept(seq: number): boolean {
    return this.log.accept(seq);
  }

  /** Drops the frames the client has seen; returns the ids of the results they carried. */
  acked(seq: number): number[] {
    return this.log.ack(seq).flat();
  }

  /** Binds a (new) socket and resends what the client has not seen. */
  attach(ws: WebSocket, welcome: Extract<ToClient, { t: 'welcome' }>, peerAck: number): void {
    clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    if (this.awaitingResume) {
      // The client saw frames up to peerAck from the coordinator before the restart.
      this.log.continueAfter(peerAck);
      this.awaitingResume = false;
    }
    this.ws = ws;
    this.lastSeen = Date.now();
    ws.send(encodeFrame(welcome));
    for (const bytes of this.log.after(peerAck)) ws.send(bytes);
  }

  /** The socket is gone; `expire` runs unless the client is back within
   * the grace period, or within `graceMs` when shorter. */
  detach(expire: () => void, graceMs = this.graceMs): void {
    this.ws = undefined;
    this.graceTimer = setTimeout(expire, Math.min(graceMs, this.graceMs));
  }

  end(): void {
    clearTimeout(this.graceTimer);
    clearTimeout(this.ackTimer);
    this.ws = undefined;
  }

  /** Sends what accumulated this turn: replies, one results frame, an ack. */
  flush(): void {
    if (this.awaitingResume) return;
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
          this.sendData({ t: 'results', results: batch, started }, batch);
          started = [];
          batch = [];
          bytes = 0;
        }
        batch.push(outcome);
        bytes += size + 64;
      }
      this.sendData({ t: 'results', results: batch, started }, batch);
      this.results = [];
      this.started = [];
    }
    if (this.log.ackUrgent) this.sendAck();
    else if (this.log.ackDue) this.ackTimer ??= setTimeout(() => this.sendAck(), ACK_DELAY_MS);
  }

  private sendAck(): void {
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    // Away, the ack stays due: it goes once the client is back.
    const ack = this.ws ? this.log.takeAck() : undefined;
    if (ack !== undefined) this.ws?.send(encodeFrame({ t: 'ack', seq: ack }));
  }

  private sendData(msg: Unsequenced<ToClientData>, results?: TaskOutcome[]): void {
    const bytes = this.log.push((seq) => encodeFrame({ ...msg, seq }), results?.map((r) => r.id));
    this.ws?.send(bytes);
  }
}
