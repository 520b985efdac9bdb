// Starts a coordinator: one HTTP server carrying the express app (site,
// bundles, /api), the WebSocket endpoint for SDK clients and pages, and the
// PeerServer pages signal WebRTC links through.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { WebSocketServer } from 'ws';
import { CloseCode, WS_PATH, type PeerConfig } from '../protocol/messages.ts';
import { coordinatorLimits } from '../protocol/limits.ts';
import { mountPeerServer, peerServerConfig } from './peer-server.ts';
import { BundleStore } from './bundle-store.ts';
import { Hub } from './hub.ts';
import { buildSiteAssets } from './site-assets.ts';
import { createHttpApp } from './http-app.ts';
import { TokenSet } from './auth.ts';

export interface CoordinatorOptions {
  host?: string;
  port?: number;
  /** Submit token; a random one is made when neither this nor `tokens` is given. */
  token?: string;
  /** Named submit tokens (a teacher gives each student one); used with or instead of `token`. */
  tokens?: Record<string, string>;
  /** Makes a private grid: pages must present this token (it rides in the join URL). */
  joinToken?: string;
  /** Folder for the bundle store. */
  dataDir?: string;
  /** Largest WebSocket frame accepted, in bytes (default 64 MiB, or more to
   * carry a task of maxTaskBytes). */
  maxPayload?: number;
  /** Largest packed arguments one task may carry, in bytes; also the most a
   * client's shared constants may add up to (default 32 MiB, or what fits
   * in maxPayload). */
  maxTaskBytes?: number;
  /** Tasks a client may submit per second (see HubOptions). */
  submitRate?: number;
  /** Heartbeats and task attempts (see HubOptions). */
  heartbeatMs?: number;
  deadlineMs?: number;
  maxAttempts?: number;
  /** Pages hand subtasks to each other over WebRTC (default true); off, they
   * go through the coordinator. */
  peerOffload?: boolean;
  /** ICE servers pages use to link: none by default, which serves a LAN;
   * add STUN/TURN entries for pages on different networks. */
  iceServers?: PeerConfig['iceServers'];
}

export interface Coordinator {
  /** http://host:port of the site (for volunteers and the SDK alike). */
  url: string;
  host: string;
  port: number;
  /** The single submit token (`token`, or the generated one), if any. */
  token: string;
  joinToken?: string;
  hub: Hub;
  close(): Promise<void>;
}

export function randomToken(): string {
  return randomBytes(18).toString('base64url');
}

export async function startCoordinator(options: CoordinatorOptions = {}): Promise<Coordinator> {
  const host = options.host ?? '127.0.0.1';
  const named = options.tokens ?? {};
  const token = options.token ?? (Object.keys(named).length > 0 ? '' : randomToken());
  const tokens = new TokenSet(token ? { default: token, ...named } : named);
  const limits = coordinatorLimits(options);
  const bundles = new BundleStore(options.dataDir ?? '.ladle');
  await bundles.init();
  const assets = await buildSiteAssets();
  const peerConfig = (options.peerOffload ?? true) ? peerServerConfig(options.iceServers ?? []) : undefined;
  const hub = new Hub({
    tokens,
    joinToken: options.joinToken,
    limits,
    submitRate: options.submitRate,
    heartbeatMs: options.heartbeatMs,
    deadlineMs: options.deadlineMs,
    maxAttempts: options.maxAttempts,
    peer: peerConfig,
    onPageGone: (id) => peer?.evict(id),
  });
  const app = createHttpApp({ hub, bundles, assets, tokens });
  const server: Server = createServer(app);
  const peer = peerConfig && mountPeerServer(app, server, peerConfig, (id) => hub.hasPage(id));

  const wss = new WebSocketServer({ noServer: true, maxPayload: limits.frameBytes });
  wss.on('connection', (ws, req) => hub.accept(ws, req.socket.remoteAddress));
  server.on('upgrade', (req, socket, head) => {
    if (new URL(req.url ?? '/', 'http://coordinator').pathname === WS_PATH) {
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    } else if (!peer?.upgrade(req, socket, head)) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${port}`,
    host,
    port,
    token,
    joinToken: options.joinToken,
    hub,
    async close() {
      hub.closeAll(CloseCode.SHUTDOWN, 'coordinator shutting down');
      peer?.close();
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
