// Runs callbacks on the next task turn, after all microtasks, through a
// MessageChannel: unlike setTimeout it is neither clamped to 4 ms when nested
// nor throttled in background tabs.
const channel = new MessageChannel();
let queue: (() => void)[] = [];
channel.port1.onmessage = () => {
  const run = queue;
  queue = [];
  for (const fn of run) fn();
};

export function nextTurn(fn: () => void): void {
  if (queue.push(fn) === 1) channel.port2.postMessage(null);
}
