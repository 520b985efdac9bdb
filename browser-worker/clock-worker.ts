// The Web Worker behind Clock: plain timers, unthrottled in background tabs.
import type { ClockReply, ClockRequest } from '../protocol/messages.ts';

const timers = new Map<number, ReturnType<typeof setTimeout>>();

self.onmessage = (e: MessageEvent<ClockRequest>) => {
  const msg = e.data;
  if (msg.t === 'set') {
    timers.set(
      msg.id,
      setTimeout(() => {
        timers.delete(msg.id);
        (self as unknown as Worker).postMessage({ id: msg.id } satisfies ClockReply);
      }, msg.ms),
    );
  } else {
    clearTimeout(timers.get(msg.id));
    timers.delete(msg.id);
  }
};
