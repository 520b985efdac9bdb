// What a Grid needs of its link to the workers: frames out, bundles up, an
// id, a close. The coordinator's WebSocket (with HTTP uploads) is one; a
// local grid's in-process engine (client-sdk/local/) is the other.
import type { ClientData } from '../protocol/messages.ts';
import type { Limits } from '../protocol/limits.ts';
import type { Bundle } from './bundler.ts';
import type { Channel, Endpoints } from './channel.ts';
import { ConnectionError } from '../futures/errors.ts';

type Unsequenced<T> = T extends unknown ? Omit<T, 'seq'> : never;
/** A frame from the SDK, numbered by the transport. */
export type ClientFrame = Unsequenced<ClientData>;

export interface Transport {
  /** This client's session id. */
  readonly clientId: string;
  /** What one task, frame or set of constants may weigh (the coordinator's, learnt at connect). */
  readonly limits: Limits;
  send(msg: ClientFrame): void;
  /** Makes a bundle available to the workers (once per hash is enough). */
  putBundle(bundle: Bundle): Promise<void>;
  close(): Promise<void>;
}

/** The coordinator's WebSocket for frames; bundles go up over HTTP. `socket`
 * is for tests and diagnostics, as Channel's is. */
export function remoteTransport(channel: Channel, ends: Endpoints, token: string): Transport & { readonly socket: Channel['socket'] } {
  return {
    get clientId() {
      return channel.clientId;
    },
    get limits() {
      return channel.limits;
    },
    /** Tests and diagnostics: the current socket (not part of Transport). */
    get socket() {
      return channel.socket;
    },
    send: (msg) => channel.send(msg),
    close: () => channel.close(),
    async putBundle(bundle) {
      const url = `${ends.http}/bundles/${bundle.hash}`;
      const head = await fetch(url, { method: 'HEAD' });
      if (head.ok) return; // uploaded before, by us or anyone
      const res = await fetch(`${ends.http}/api/bundles/${bundle.hash}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'text/javascript' },
        body: bundle.code,
      });
      if (!res.ok) throw new ConnectionError(`uploading a task bundle failed: HTTP ${res.status} ${await res.text()}`);
    },
  };
}
