// A stand-in for a ws WebSocket, for unit tests of the hub's policies: frames
// the hub sends are decoded and kept; frames a test sends go through the
// hub's own parsing. The real sockets are tested end to end in tests/e2e.
import { EventEmitter } from 'node:events';
import { decodeFrame, encodeFrame, parseToClient, parseToPage, type ToClient, type ToPage } from '../../protocol/messages.ts';

export class FakeSocket<In> extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  /** Frames the hub sent, decoded. */
  readonly received: In[] = [];
  closed: { code: number; reason: string } | undefined;

  constructor(private readonly parse: (x: unknown) => In) {
    super();
  }

  /** The hub sends a frame. */
  send(data: Uint8Array): void {
    this.received.push(decodeFrame(data, this.parse));
  }

  /** A frame from the other end, to the hub. */
  deliver(msg: unknown): void {
    this.emit('message', Buffer.from(encodeFrame(msg as never)), true);
  }

  close(code = 1000, reason = ''): void {
    if (this.readyState !== 1) return;
    this.readyState = 3;
    this.closed = { code, reason };
    this.emit('close', code, Buffer.from(reason));
  }

  terminate(): void {
    this.close(1006, '');
  }

  ping(): void {}

  /** Frames of one type received since the last call, and forgets them. */
  take<T extends In & { t: string }>(t: T['t']): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.received.length; ) {
      const m = this.received[i] as In & { t: string };
      if (m.t === t) {
        out.push(m as T);
        this.received.splice(i, 1);
      } else i++;
    }
    return out;
  }
}

export const pageSocket = () => new FakeSocket<ToPage>(parseToPage);
export const clientSocket = () => new FakeSocket<ToClient>(parseToClient);

/** One turn of the event loop: the hub flushes what it batched. */
export const turn = () => new Promise((resolve) => setImmediate(resolve));
