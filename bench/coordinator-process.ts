// A coordinator in its own process, so its memory and CPU are its own: the
// bench forks this file and talks to it over IPC (ready, mem, stats, stop).
import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCoordinator } from '../coordinator/coordinator.ts';
import type { Stats } from '../coordinator/stats.ts';

export interface Mem {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** Kernel high-water mark of this process's RSS, in bytes. */
  peakRss: number;
}
export type CoordinatorRequest = { id: number; t: 'mem'; gc: boolean } | { id: number; t: 'stats' } | { id: number; t: 'storeBytes' } | { id: number; t: 'stop' };
export type CoordinatorReply =
  | { t: 'ready'; url: string; token: string }
  | { id: number; t: 'mem'; mem: Mem }
  | { id: number; t: 'stats'; stats: Stats }
  | { id: number; t: 'storeBytes'; bytes: number }
  | { id: number; t: 'stopped' };

// After a stop the channel may already be gone: a late reply is dropped, not thrown.
const send = (msg: CoordinatorReply) => {
  if (process.connected) process.send!(msg);
};

// Flags: `--no-peer-offload` turns WebRTC peer offloading off (the nested
// scenario); `--durable` keeps the grid's state in the data folder's ladle.db.
const peerOffload = !process.argv.slice(2).includes('--no-peer-offload');
const durable = process.argv.slice(2).includes('--durable');
const dataDir = await mkdtemp(join(tmpdir(), 'ladle-bench-'));
const coordinator = await startCoordinator({ host: '127.0.0.1', port: 0, dataDir, peerOffload, durable });

/** ladle.db with its write-ahead log and shared-memory index. */
function storeBytes(): number {
  let total = 0;
  for (const suffix of ['', '-wal', '-shm']) {
    try {
      total += statSync(join(dataDir, `ladle.db${suffix}`)).size;
    } catch {
      /* not there */
    }
  }
  return total;
}

let stopping: Promise<void> | undefined;
function stop(): Promise<void> {
  stopping ??= coordinator.close().then(() => rm(dataDir, { recursive: true, force: true }));
  return stopping;
}

function mem(gc: boolean): Mem {
  // Several passes: one full GC can leave garbage that the next one frees.
  const collect = (globalThis as { gc?: () => void }).gc;
  if (gc && collect) for (let i = 0; i < 3; i++) collect();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, peakRss: process.resourceUsage().maxRSS * 1024 };
}

process.on('message', (req: CoordinatorRequest) => {
  switch (req.t) {
    case 'mem':
      send({ id: req.id, t: 'mem', mem: mem(req.gc) });
      break;
    case 'stats':
      send({ id: req.id, t: 'stats', stats: coordinator.hub.stats() });
      break;
    case 'storeBytes':
      send({ id: req.id, t: 'storeBytes', bytes: storeBytes() });
      break;
    case 'stop':
      void stop().then(() => {
        send({ id: req.id, t: 'stopped' });
        if (process.connected) process.disconnect();
      });
      break;
  }
});
// Ctrl-C reaches the whole process group: the bench then says stop, and the
// coordinator must still be here to hear it.
process.on('SIGINT', () => undefined);
// The bench died without saying stop: do not outlive it.
process.on('disconnect', () => void stop().finally(() => process.exit(0)));
send({ t: 'ready', url: coordinator.url, token: coordinator.token });
