// Task bundles on the page: fetched once over HTTP, verified against their
// sha256 name, and kept in IndexedDB so a reload or a later visit does not
// fetch them again. sha256 comes from @noble/hashes because crypto.subtle is
// missing on plain-http LAN origins, where most volunteers join.
import { get, set, createStore, type UseStore } from 'idb-keyval';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';

let store: UseStore | undefined;
function idb(): UseStore {
  return (store ??= createStore('ladle-bundles', 'bundles'));
}

const inFlight = new Map<string, Promise<string>>();

export interface BundleCacheCounters {
  fetched: number;
  fromCache: number;
}
export const bundleCounters: BundleCacheCounters = { fetched: 0, fromCache: 0 };

/** The source text of bundle `hash`, from IndexedDB or else the coordinator. */
export function loadBundle(hash: string): Promise<string> {
  let p = inFlight.get(hash);
  if (!p) {
    p = fetchOrCached(hash);
    inFlight.set(hash, p);
    p.catch(() => inFlight.delete(hash));
  }
  return p;
}

async function fetchOrCached(hash: string): Promise<string> {
  const cached = await get<Uint8Array>(hash, idb()).catch(() => undefined);
  if (cached && bytesToHex(sha256(cached)) === hash) {
    bundleCounters.fromCache++;
    return new TextDecoder().decode(cached);
  }
  const res = await fetch(`/bundles/${hash}`);
  if (!res.ok) throw new Error(`bundle ${hash} could not be fetched: HTTP ${res.status}`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  const actual = bytesToHex(sha256(bytes));
  if (actual !== hash) throw new Error(`bundle ${hash} arrived corrupted (its bytes hash to ${actual})`);
  bundleCounters.fetched++;
  // A full or blocked IndexedDB only costs a refetch next time.
  await set(hash, bytes, idb()).catch(() => undefined);
  return new TextDecoder().decode(bytes);
}
