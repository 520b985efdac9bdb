// Starts a coordinator: one HTTP server carrying the express app (site,
// bundles, /api), the WebSocket endpoint for SDK clients and pages, and the
// PeerServer pages signal WebRTC links through.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import { CloseCode, WS_PATH, type PeerConfig } from '../protocol/messages.ts';
import { coordinatorLimits, verifyError, type VerifyOption } from '../protocol/limits.ts';
import { mountPeerServer, peerServerConfig } from './peer-server.ts';
import { BundleStore } from './bundle-store.ts';
import { Hub } from './hub.ts';
import { buildSiteAssets } from './site-assets.ts';
import { createHttpApp } from './http-app.ts';
import { joinUrls, type Listening } from './join-urls.ts';
import { TokenGate, TokenSet } from './auth.ts';
import { Journal } from './journal.ts';
import { openSqliteStore } from './store/sqlite-store.ts';
import { originChecker } from './origin-check.ts';

export interface CoordinatorOptions {
  /** Serve https and wss on the same port with this certificate and key (PEM). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  host?: string;
  port?: number;
  /** Submit token; a random one is made when neither this nor `tokens` is given. */
  token?: string;
  /** Named submit tokens (a teacher gives each student one); used with or instead of `token`. */
  tokens?: Record<string, string>;
  /** Makes a private grid: pages must present this token (it rides in the join URL). */
  joinToken?: string;
  /** Folder for the bundle store (default .ladle), and with `durable` for ladle.db. */
  dataDir?: string;
  /** Keep queued and running tasks, unacknowledged results, sessions, shared
   * constants and job records in dataDir/ladle.db (SQLite, through the
   * optional better-sqlite3), so that a restart on the same folder resumes
   * them. A folder or file it cannot use rejects the start with a StoreError. */
  durable?: boolean;
  /** The store failed while running (a full disk): the coordinator has closed
   * every socket (clients keep what was not acknowledged, to resend it to the
   * next run) and this is called; by default the error is only printed. */
  onStoreFailure?: (error: Error) => void;
  /** Largest WebSocket frame accepted, in bytes (default 64 MiB, or more to
   * carry a task of maxTaskBytes). */
  maxPayload?: number;
  /** Largest packed arguments one task may carry, in bytes; also the most a
   * client's shared constants may add up to (default 32 MiB, or what fits
   * in maxPayload). */
  maxTaskBytes?: number;
  /** May view each worker and job (/api/stats, /api/events, the dashboard)
   * but not submit; a random one is made when not given. */
  adminToken?: string;
  /** Web origins besides the coordinator's own whose pages may open its
   * WebSockets (pages of another site, a reverse proxy's public name). */
  allowedOrigins?: string[];
  /** Bytes of shared constants one submit token's sessions may hold (see HubOptions). */
  sharedQuotaBytes?: number;
  /** Bytes of bundles kept in memory, and stored per token (see BundleStoreOptions). */
  bundleMemoryBytes?: number;
  bundleQuotaBytes?: number;
  /** Tasks a client may submit per second (see HubOptions). */
  submitRate?: number;
  /** Heartbeats and task attempts (see HubOptions). */
  heartbeatMs?: number;
  deadlineMs?: number;
  maxAttempts?: number;
  /** Clients that vanish, and the results held for them (see HubOptions). */
  abandonedGraceMs?: number;
  heldResultBytes?: number;
  /** Bounds on what pages hand to the grid, and backups of tasks that spawned (see HubOptions). */
  pageReleaseRate?: number;
  maxTasksPerPage?: number;
  spawnedBackupMs?: number;
  /** How results are verified when a task's handle does not say (default 'off'; see HubOptions). */
  verify?: VerifyOption;
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
  /** Views the grid's details (`/dashboard?token=…`), cannot submit. */
  adminToken: string;
  hub: Hub;
  /** Whether it keeps its state in dataDir/ladle.db. */
  durable: boolean;
  close(): Promise<void>;
  /** A graceful stop (SIGTERM): no task starts any more, the running ones
   * finish (for up to `deadlineMs`), then every client and page is closed
   * with CloseCode.SHUTDOWN and a reason saying so. A durable coordinator
   * closes with CloseCode.RESTARTING instead: its store keeps what did not
   * finish, and clients resume with the next run. */
  drain(deadlineMs: number): Promise<void>;
}

export function randomToken(): string {
  return randomBytes(18).toString('base64url');
}

/** Frames a socket may send before its hello is accepted: a hello is a few
 * hundred bytes. ws refuses a bigger frame (1009) from its header, before
 * buffering any of it. */
export const HELLO_MAX_BYTES = 8 * 1024;

/** Lifts a trusted socket's frame limit from HELLO_MAX_BYTES to `bytes`.
 * ws sets maxPayload per server, not per socket; its receiver reads the
 * limit from `_maxPayload` for each frame header, so this narrow write to
 * ws internals (checked, so a ws upgrade that changes it fails loudly) gives
 * each socket its own limit. */
function setMaxPayload(ws: WebSocket, bytes: number): void {
  const receiver = (ws as unknown as { _receiver?: { _maxPayload?: unknown } })._receiver;
  if (typeof receiver?._maxPayload !== 'number') throw new Error('ws internals changed: cannot lift a socket\'s frame limit');
  receiver._maxPayload = bytes;
}

export async function startCoordinator(options: CoordinatorOptions = {}): Promise<Coordinator> {
  const host = options.host ?? '127.0.0.1';
  const named = options.tokens ?? {};
  const token = options.token ?? (Object.keys(named).length > 0 ? '' : randomToken());
  const tokens = new TokenSet(token ? { default: token, ...named } : named);
  const adminToken = options.adminToken ?? randomToken();
  const gate = new TokenGate(tokens, undefined, adminToken);
  const limits = coordinatorLimits(options);
  const maxPayload = limits.frameBytes;
  const originAllowed = originChecker(options.allowedOrigins);
  const dataDir = options.dataDir ?? '.ladle';
  // The store first: a folder or file it refuses stops the start before anything listens.
  const store = options.durable ? await openSqliteStore(dataDir) : undefined;
  const bundles = new BundleStore(dataDir, { memoryBytes: options.bundleMemoryBytes, quotaBytes: options.bundleQuotaBytes });
  await bundles.init();
  const journal: Journal | undefined =
    store &&
    new Journal(
      store,
      (): { completed: number; failed: number } => ({ completed: hub.store.completed, failed: hub.store.failed }),
      (error) => {
        console.error(`ladle coordinator: cannot write ${store.file} (${(error as { code?: string }).code ?? error.name}: ${error.message}); stopping so that nothing is lost: clients keep what was not acknowledged. Free space (or move the file away) and start again with the same --data.`);
        void close('coordinator stopping: its store cannot be written', 0, CloseCode.RESTARTING).then(() => options.onStoreFailure?.(error));
      },
    );
  const badVerify = options.verify === undefined ? undefined : verifyError(options.verify);
  if (badVerify) throw new RangeError(badVerify);
  const assets = await buildSiteAssets();
  const peerConfig = (options.peerOffload ?? true) ? peerServerConfig(options.iceServers ?? []) : undefined;
  const hub: Hub = new Hub({
    tokens,
    gate,
    onTrusted: (ws) => setMaxPayload(ws, maxPayload),
    sharedQuotaBytes: options.sharedQuotaBytes,
    joinToken: options.joinToken,
    limits,
    submitRate: options.submitRate,
    heartbeatMs: options.heartbeatMs,
    deadlineMs: options.deadlineMs,
    maxAttempts: options.maxAttempts,
    abandonedGraceMs: options.abandonedGraceMs,
    heldResultBytes: options.heldResultBytes,
    pageReleaseRate: options.pageReleaseRate,
    maxTasksPerPage: options.maxTasksPerPage,
    spawnedBackupMs: options.spawnedBackupMs,
    verify: options.verify,
    peer: peerConfig,
    onPageGone: (id) => peer?.evict(id),
    journal,
  });
  if (store) hub.restore(store.load());
  let listening: Listening | undefined;
  const app = createHttpApp({ hub, bundles, assets, gate, joinUrls: (withJoinToken) => (listening ? joinUrls(listening, withJoinToken) : []) });
  // https: pages on other machines are secure contexts (WebGPU, crypto.subtle).
  const server: Server = options.tls ? (createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, app)) : createServer(app);
  const peer = peerConfig && mountPeerServer(app, server, peerConfig, (id, secret) => hub.isPeerOf(id, secret), originAllowed);

  // Every socket starts held to HELLO_MAX_BYTES; the hub lifts it after a valid hello.
  const wss = new WebSocketServer({ noServer: true, maxPayload: Math.min(HELLO_MAX_BYTES, maxPayload) });
  wss.on('connection', (ws, req: IncomingMessage) => hub.accept(ws, req.socket.remoteAddress));
  server.on('upgrade', (req, socket, head) => {
    if (new URL(req.url ?? '/', 'http://coordinator').pathname === WS_PATH) {
      if (!originAllowed(req)) {
        const body = 'this origin may not open the coordinator\'s WebSocket (see --allowed-origins)';
        socket.end(`HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
        return;
      }
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
  listening = { host, port, url: `http://${urlHost}:${port}`, joinToken: options.joinToken };

  return {
    url: `${options.tls ? 'https' : 'http'}://${urlHost}:${port}`,
    host,
    port,
    token,
    joinToken: options.joinToken,
    adminToken,
    hub,
    durable: journal !== undefined,
    close: () => (journal ? close('coordinator restarting: tasks not finished are kept for the next run', 0, CloseCode.RESTARTING) : close('coordinator shutting down', 0)),
    async drain(deadlineMs) {
      const finished = await hub.drain(deadlineMs);
      if (journal) {
        const running = finished ? 'running tasks have finished' : `tasks still running after ${deadlineMs / 1000} s will run again`;
        await close(`coordinator restarting: ${running}; tasks not yet started are kept for the next run`, CLOSE_WAIT_MS, CloseCode.RESTARTING);
        return;
      }
      const running = finished ? 'running tasks have finished' : `tasks still running after ${deadlineMs / 1000} s were stopped`;
      await close(`coordinator shutting down: ${running}; tasks not yet started were not run`, CLOSE_WAIT_MS);
    },
  };

  /** Closes every socket with `reason`, waiting up to `waitMs` for each peer
   * to answer the close (so the reason reaches it) before cutting it off;
   * then writes the store's last batch and closes it. */
  async function close(reason: string, waitMs: number, code: number = CloseCode.SHUTDOWN): Promise<void> {
    hub.closeAll(code, reason);
    peer?.close();
    if (waitMs > 0) {
      await Promise.all(
        [...wss.clients].map((ws) => new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, waitMs);
          ws.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
        })),
      );
    }
    for (const ws of wss.clients) ws.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    journal?.close();
  }
}

/** How long a draining coordinator waits for each socket to close cleanly. */
const CLOSE_WAIT_MS = 1000;
