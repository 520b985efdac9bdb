// Timers that keep time in a background tab. Browsers throttle a hidden
// page's timers (down to one wake-up a minute), but not a dedicated Web
// Worker's, so the timers run there and post back when they fire.
import type { ClockReply, ClockRequest } from '../protocol/messages.ts';

/** What a user of timers needs of a Clock. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): number;
  clearTimeout(id: number): void;
}

export class Clock implements Timers {
  private readonly worker: Worker;
  private readonly callbacks = new Map<number, () => void>();
  private nextId = 1;

  constructor(url = '/clock.js') {
    this.worker = new Worker(url, { type: 'module', name: 'ladle-clock' });
    this.worker.onmessage = (e: MessageEvent<ClockReply>) => {
      const fn = this.callbacks.get(e.data.id);
      this.callbacks.delete(e.data.id);
      fn?.();
    };
  }

  setTimeout(fn: () => void, ms: number): number {
    const id = this.nextId++;
    this.callbacks.set(id, fn);
    this.worker.postMessage({ t: 'set', id, ms } satisfies ClockRequest);
    return id;
  }

  clearTimeout(id: number): void {
    if (this.callbacks.delete(id)) this.worker.postMessage({ t: 'clear', id } satisfies ClockRequest);
  }

  stop(): void {
    this.worker.terminate();
    this.callbacks.clear();
  }
}
