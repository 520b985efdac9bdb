// The PeerServer (npm `peer`) that pages use to signal WebRTC links to each
// other, mounted in the coordinator's own express app and HTTP server: no
// public PeerJS cloud, no second port. Only connected pages may register,
// under the worker id the coordinator issued them.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type express from 'express';
import { ExpressPeerServer } from 'peer';
import { WebSocketServer } from 'ws';
import type { PeerConfig } from '../protocol/messages.ts';

/** Where the PeerServer's HTTP API lives; its WebSocket is `${PEER_PATH}/peerjs`. */
export const PEER_PATH = '/peerjs';
const PEER_KEY = 'ladle';

/** What pages are told, in their welcome, to reach the PeerServer. */
export function peerServerConfig(iceServers: PeerConfig['iceServers']): PeerConfig {
  return { path: PEER_PATH, key: PEER_KEY, iceServers };
}

export interface MountedPeerServer {
  /** Takes an upgrade request if it is for the PeerServer; false otherwise. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  close(): void;
}

export function mountPeerServer(
  app: express.Express,
  server: Server,
  config: PeerConfig,
  isPage: (id: string) => boolean,
): MountedPeerServer {
  let wss: WebSocketServer | undefined;
  const timers = ownTimers();
  const peer = ExpressPeerServer(server, {
    path: '/',
    key: config.key,
    // Signalling messages are small; a page sends a heartbeat every 5 s.
    alive_timeout: 30_000,
    createWebSocketServer: () => {
      // The coordinator routes upgrades itself: one HTTP server carries two
      // WebSocket endpoints, and a ws server bound to it would refuse the other's.
      wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
      return wss;
    },
  });
  // Its errors (a page's socket reset) are the page's problem, not the coordinator's.
  peer.on('error', () => undefined);
  timers.run(() => app.use(config.path, peer));
  const wsPath = `${config.path}/peerjs`;

  return {
    upgrade(req, socket, head) {
      const url = new URL(req.url ?? '/', 'http://coordinator');
      if (url.pathname !== wsPath || !wss) return false;
      if (!isPage(url.searchParams.get('id') ?? '')) {
        socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return true;
      }
      const target = wss;
      target.handleUpgrade(req, socket, head, (ws) => target.emit('connection', ws, req));
      return true;
    },
    close() {
      timers.stop();
      for (const ws of wss?.clients ?? []) ws.terminate();
      wss?.close();
    },
  };
}

/** The PeerServer keeps two housekeeping timers re-arming forever, with no
 * way to stop them; they would keep a finished coordinator's process alive.
 * Timers armed inside `run` (and inside those timers' callbacks, where they
 * re-arm) are unref'd, and stop re-arming after `stop`. */
function ownTimers(): { run(fn: () => void): void; stop(): void } {
  const real = globalThis.setTimeout;
  let stopped = false;
  const owned = ((callback: () => void, ms?: number) => {
    const timer = real(() => {
      if (stopped) return;
      within(callback);
    }, ms);
    timer.unref();
    return timer;
  }) as typeof setTimeout;
  const within = (fn: () => void) => {
    globalThis.setTimeout = owned;
    try {
      fn();
    } finally {
      globalThis.setTimeout = real;
    }
  };
  return {
    run: within,
    stop() {
      stopped = true;
    },
  };
}
