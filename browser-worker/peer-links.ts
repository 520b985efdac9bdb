// WebRTC links from this page to other volunteer pages (peerjs), signalled
// through the coordinator's PeerServer under the worker id it issued. A link
// carries PeerMessages, each cut into chunks the data channel delivers whole;
// every message from a peer is validated, since a peer is another volunteer's
// browser.
import { Peer, type DataConnection } from 'peerjs';
import { decodeFrame, encodeFrame, parsePeerMessage, type PeerConfig, type PeerMessage } from '../protocol/messages.ts';
import { ChunkJoiner, chunkSize, toChunks } from '../protocol/chunks.ts';
import { PEER_MESSAGE_BYTES } from '../protocol/limits.ts';
import type { Timers } from './clock.ts';

/** A link that is not open by then is given up: the grid never waits on WebRTC. */
const CONNECT_TIMEOUT_MS = 4000;

export interface PeerLink {
  /** The other page's worker id. */
  readonly peer: string;
  /** This page opened it. */
  readonly outgoing: boolean;
  readonly open: boolean;
  send(msg: PeerMessage): void;
  close(): void;
}

export interface PeerNetworkEvents {
  /** Registered with the PeerServer (true), or no longer (false). */
  onRegistered(open: boolean): void;
  onMessage(link: PeerLink, msg: PeerMessage): void;
  /** Called once per link, whichever side closed it. */
  onClosed(link: PeerLink): void;
}

class Link implements PeerLink {
  private readonly joiner = new ChunkJoiner(PEER_MESSAGE_BYTES);
  private closed = false;

  constructor(
    private readonly conn: DataConnection,
    readonly outgoing: boolean,
    private readonly net: PeerNetwork,
  ) {}

  get peer(): string {
    return this.conn.peer;
  }
  get open(): boolean {
    return this.conn.open && !this.closed;
  }

  send(msg: PeerMessage): void {
    if (!this.open) return;
    // Maximum message size both ends agreed on (known once the link is open).
    const size = chunkSize(this.conn.peerConnection?.sctp?.maxMessageSize);
    for (const chunk of toChunks(encodeFrame(msg), size)) {
      void this.conn.send(chunk);
      this.net.bytesSent += chunk.byteLength;
    }
  }

  receive(data: unknown): void {
    if (this.closed) return;
    try {
      if (!(data instanceof ArrayBuffer)) throw new Error('expected binary data');
      const frame = this.joiner.push(new Uint8Array(data));
      if (frame) this.net.events.onMessage(this, decodeFrame(frame, parsePeerMessage));
    } catch (e) {
      console.error(`ladle: closing the link to peer ${this.peer.slice(0, 8)}: ${(e as Error).message}`);
      this.close();
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.conn.close();
    this.net.forget(this);
  }
}

export class PeerNetwork {
  private readonly peer: Peer;
  private readonly links = new Set<Link>();
  /** Links being opened, by peer id. */
  private readonly opening = new Map<string, Promise<PeerLink>>();
  private destroyed = false;
  bytesSent = 0;

  constructor(
    id: string,
    config: PeerConfig,
    coordinatorUrl: string,
    readonly events: PeerNetworkEvents,
    private readonly clock: Timers,
  ) {
    const url = new URL(coordinatorUrl);
    const secure = url.protocol === 'wss:' || url.protocol === 'https:';
    this.peer = new Peer(id, {
      host: url.hostname,
      port: Number(url.port) || (secure ? 443 : 80),
      path: config.path,
      key: config.key,
      // Proves to the PeerServer that this id is ours (the coordinator gave it
      // in the welcome); left out, peerjs makes up a token the server refuses.
      ...(config.token ? { token: config.token } : {}),
      secure,
      config: { iceServers: config.iceServers },
      debug: 0,
    });
    this.peer.on('open', () => events.onRegistered(true));
    this.peer.on('disconnected', () => {
      events.onRegistered(false);
      // The signalling socket dropped (the coordinator restarted, say): open links live on.
      if (!this.destroyed) this.clock.setTimeout(() => !this.destroyed && this.peer.disconnected && this.peer.reconnect(), 2000);
    });
    this.peer.on('error', (e) => {
      // A failed link is reported by connect(); the rest is worth a line.
      if (e.type !== 'peer-unavailable') console.warn(`ladle: WebRTC signalling: ${e.type}: ${e.message}`);
    });
    this.peer.on('connection', (conn) => {
      conn.on('open', () => this.adopt(conn, false));
    });
  }

  /** Open links this page started. */
  get outgoingLinks(): number {
    let n = 0;
    for (const l of this.links) if (l.outgoing && l.open) n++;
    return n;
  }

  /** An open link to `peerId`: one already there (either side's), or a new one. */
  link(peerId: string): Promise<PeerLink> {
    for (const l of this.links) if (l.peer === peerId && l.open) return Promise.resolve(l);
    let pending = this.opening.get(peerId);
    if (pending) return pending;
    pending = new Promise<PeerLink>((resolve, reject) => {
      const conn = this.peer.connect(peerId, { reliable: true, serialization: 'raw' });
      const fail = (why: string) => {
        this.clock.clearTimeout(timer);
        conn.close();
        reject(new Error(`no WebRTC link to ${peerId.slice(0, 8)}: ${why}`));
      };
      const timer = this.clock.setTimeout(() => fail(`not open after ${CONNECT_TIMEOUT_MS} ms`), CONNECT_TIMEOUT_MS);
      conn.on('open', () => {
        this.clock.clearTimeout(timer);
        resolve(this.adopt(conn, true));
      });
      conn.on('error', (e) => fail(e.message));
      conn.on('close', () => fail('closed'));
    });
    this.opening.set(peerId, pending);
    const settle = () => this.opening.delete(peerId);
    pending.then(settle, settle);
    return pending;
  }

  /** Closes every link with `peerId`. */
  drop(peerId: string): void {
    for (const l of [...this.links]) if (l.peer === peerId) l.close();
  }

  destroy(): void {
    this.destroyed = true;
    for (const l of [...this.links]) l.close();
    this.peer.destroy();
  }

  /** Bytes sent since the last call. */
  takeBytesSent(): number {
    const n = this.bytesSent;
    this.bytesSent = 0;
    return n;
  }

  forget(link: Link): void {
    if (this.links.delete(link) && !this.destroyed) this.events.onClosed(link);
  }

  private adopt(conn: DataConnection, outgoing: boolean): Link {
    const link = new Link(conn, outgoing, this);
    this.links.add(link);
    conn.on('data', (data) => link.receive(data));
    conn.on('close', () => link.close());
    conn.on('error', () => link.close());
    return link;
  }
}
