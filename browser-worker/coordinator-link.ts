// A page's one WebSocket to the coordinator: it connects, notices a
// connection gone silent, and reconnects with backoff. What the frames say
// is the runtime's business (runtime.ts).
import { decodeFrame, encodeFrame, parseToPage, type ToPage } from '../protocol/messages.ts';
import type { Timers } from './clock.ts';

export type PageFrame = Parameters<typeof encodeFrame>[0];

export interface CoordinatorLinkEvents {
  /** A connection is being tried. */
  connecting(): void;
  /** It is open: say hello. */
  opened(): void;
  frame(msg: ToPage): void;
  /** It is gone (CloseCode says why: PROTOCOL or INVALID_JOIN_TOKEN mean the coordinator refused this page);
   * another is tried after a backoff unless the link was stopped. */
  closed(code: number, reason: string): void;
}

export class CoordinatorLink {
  private ws?: WebSocket;
  private retryMs = RETRY_MIN_MS;
  private watchdog: number | undefined;
  private lastFrameAt = 0;
  private stopped = false;

  constructor(
    readonly url: string,
    private readonly clock: Timers,
    private readonly events: CoordinatorLinkEvents,
  ) {}

  get open(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  connect(): void {
    this.events.connecting();
    const ws = new WebSocket(this.url);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onopen = () => {
      this.retryMs = RETRY_MIN_MS;
      this.events.opened();
    };
    ws.onmessage = (e: MessageEvent<ArrayBuffer>) => {
      this.lastFrameAt = performance.now();
      this.events.frame(decodeFrame(new Uint8Array(e.data), parseToPage));
    };
    this.lastFrameAt = performance.now();
    this.watch(ws);
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      if (this.watchdog !== undefined) this.clock.clearTimeout(this.watchdog);
      this.events.closed(e.code, e.reason);
      if (this.stopped) return;
      this.clock.setTimeout(() => this.connect(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
    };
  }

  send(msg: PageFrame): void {
    this.ws?.send(encodeFrame(msg));
  }

  stop(): void {
    this.stopped = true;
    this.ws?.close(1000, 'page closed the runtime');
  }

  /** The coordinator pings every few seconds: silence this long means the
   * connection is dead even if the browser has not noticed. Checked now and
   * then rather than re-armed per frame, which would cost two messages to
   * the clock worker on every frame. */
  private watch(ws: WebSocket): void {
    this.watchdog = this.clock.setTimeout(() => {
      if (this.ws !== ws) return;
      if (performance.now() - this.lastFrameAt > SILENCE_MS) ws.close(4000, 'no word from the coordinator');
      else this.watch(ws);
    }, SILENCE_MS / 4);
  }
}

/** A WebSocket that has carried nothing this long (pings come every 5 s) is dead. */
const SILENCE_MS = 30_000;
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 10_000;
