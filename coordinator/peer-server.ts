// The PeerServer (npm `peer`) that pages use to signal WebRTC links to each
// other, mounted in the coordinator's own express app and HTTP server: no
// public PeerJS cloud, no second port. Only connected pages may register,
// under the worker id the coordinator issued them, presenting the secret
// their welcome carried (peerjs's `token`): knowing a page's id (the
// dashboard lists them) is not enough to take its registration.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type express from 'express';
import { ExpressPeerServer } from 'peer';
import { WebSocketServer, type WebSocket } from 'ws';
import type { PeerConfig } from '../protocol/messages.ts';

/** Where the PeerServer's HTTP API lives; its WebSocket is `${PEER_PATH}/peerjs`. */
const PEER_PATH = '/peerjs';
const PEER_KEY = 'ladle';

export type IceServer = PeerConfig['iceServers'][number];

/** ICE servers from the command line: comma-separated STUN/TURN URLs, or a
 * JSON array of RTCIceServer objects (for TURN credentials). */
export function parseIceServers(text: string): IceServer[] {
  const trimmed = text.trim();
  const servers: unknown = trimmed.startsWith('[') ? parseJson(trimmed) : trimmed.split(',').filter((u) => u.trim() !== '').map((u) => ({ urls: u.trim() }));
  if (!Array.isArray(servers)) throw new Error('expected a JSON array of {"urls", "username", "credential"}');
  return servers.map((x, i) => {
    const s = x as Record<string, unknown>;
    const urls = typeof s?.urls === 'string' ? [s.urls] : s?.urls;
    if (!Array.isArray(urls) || urls.length === 0 || !urls.every((u) => typeof u === 'string' && ICE_URL.test(u))) {
      throw new Error(`server ${i + 1}: urls must be stun:, stuns:, turn: or turns: URLs`);
    }
    for (const key of ['username', 'credential'] as const) {
      if (s[key] !== undefined && typeof s[key] !== 'string') throw new Error(`server ${i + 1}: ${key} must be a string`);
    }
    const server: IceServer = { urls: typeof s.urls === 'string' ? s.urls : (urls as string[]) };
    if (s.username !== undefined) server.username = s.username as string;
    if (s.credential !== undefined) server.credential = s.credential as string;
    return server;
  });
}

const ICE_URL = /^(stuns?|turns?):[^\s]+$/;

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`not valid JSON: ${(e as Error).message}`);
  }
}

/** What pages are told, in their welcome, to reach the PeerServer. */
export function peerServerConfig(iceServers: PeerConfig['iceServers']): PeerConfig {
  return { path: PEER_PATH, key: PEER_KEY, iceServers };
}

export interface MountedPeerServer {
  /** Takes an upgrade request if it is for the PeerServer; false otherwise. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /** Ends a page's registration (it left the grid). */
  evict(id: string): void;
  close(): void;
}

export function mountPeerServer(
  app: express.Express,
  server: Server,
  config: PeerConfig,
  /** Whether `token` is the secret of connected page `id` (compared in constant time). */
  isPage: (id: string, token: string) => boolean,
  /** Whether an upgrade's Origin may open a socket here. */
  originAllowed: (req: IncomingMessage) => boolean = () => true,
): MountedPeerServer {
  let wss: WebSocketServer | undefined;
  /** Signalling sockets by page id. */
  const sockets = new Map<string, Set<WebSocket>>();
  const timers = ownTimers();
  const peer = ExpressPeerServer(server, {
    path: '/',
    key: config.key,
    // Signalling messages are small; a page sends a heartbeat every 5 s.
    alive_timeout: 30_000,
    // Its HTTP API is for our own pages only: no cross-origin reads.
    corsOptions: { origin: false },
    createWebSocketServer: () => {
      // The coordinator routes upgrades itself: one HTTP server carries two
      // WebSocket endpoints, and a ws server bound to it would refuse the other's.
      wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
      return wss;
    },
  });
  // Its errors (a page's socket reset) are the page's problem, not the coordinator's.
  peer.on('error', () => undefined);
  // It is an express app of its own; the coordinator does not say what it runs on.
  peer.disable('x-powered-by');
  timers.run(() => app.use(config.path, peer));
  const wsPath = `${config.path}/peerjs`;

  return {
    upgrade(req, socket, head) {
      const url = new URL(req.url ?? '/', 'http://coordinator');
      if (url.pathname !== wsPath || !wss) return false;
      if (!originAllowed(req) || !isPage(url.searchParams.get('id') ?? '', url.searchParams.get('token') ?? '')) {
        socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return true;
      }
      const id = url.searchParams.get('id')!;
      const target = wss;
      target.handleUpgrade(req, socket, head, (ws) => {
        let mine = sockets.get(id);
        if (!mine) sockets.set(id, (mine = new Set()));
        mine.add(ws);
        ws.once('close', () => {
          mine.delete(ws);
          if (mine.size === 0 && sockets.get(id) === mine) sockets.delete(id);
        });
        target.emit('connection', ws, req);
      });
      return true;
    },
    evict(id) {
      for (const ws of sockets.get(id) ?? []) ws.close(1000, 'the page left the grid');
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
