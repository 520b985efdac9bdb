// The page's identity: a secret of 32 random bytes that it sends in every
// hello, kept in IndexedDB so that a reload, a reconnect or a later visit
// joins as the same volunteer and keeps the record the coordinator holds for
// it (result verification trusts a page by that record). The coordinator
// and everyone else see only its public id, a hash of the secret.
//
// crypto.getRandomValues works on plain-http origins too; crypto.subtle does
// not, so the public id is hashed with @noble/hashes (as the bundle cache does).
import { createStore, get, update, type UseStore } from 'idb-keyval';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { ToPage } from '../protocol/messages.ts';

export const IDENTITY_KEY = 'ladle.identity';
/** The IndexedDB database and object store that hold it. */
export const IDENTITY_DB = { db: 'ladle-identity', store: 'identity' } as const;

/** What the coordinator's hello parser accepts. */
const SECRET = /^[A-Za-z0-9_-]{43}$/;

/** The page's record in result verification, as the coordinator last sent it. */
export type Standing = Omit<Extract<ToPage, { t: 'standing' }>, 't'>;

export interface PageIdentity {
  secret: string;
  /** Its public id (see publicIdOf). */
  id: string;
  /** False when IndexedDB could not keep it (a private window, blocked
   * storage): this page load has an identity of its own, and the volunteer
   * starts untrusted on every visit. */
  kept: boolean;
}

/** Storage that does not answer in this long is treated as unavailable: a
 * page must not wait forever to join. */
const STORAGE_WAIT_MS = 5000;

let store: UseStore | undefined;

/** The page's identity: the one kept in IndexedDB, or a new one (kept there
 * for next time). Never fails: without storage, a secret for this page load. */
export async function loadIdentity(): Promise<PageIdentity> {
  const fresh = newSecret();
  try {
    const secret = await withinWait(keep(fresh));
    return { secret, id: publicIdOf(secret), kept: true };
  } catch (e) {
    console.warn(`ladle: this browser does not keep data for this site (${(e as Error).message}); this visit joins as a new volunteer`);
    return { secret: fresh, id: publicIdOf(fresh), kept: false };
  }
}

/** Stores `fresh` unless a valid secret is stored already, in one
 * transaction: two tabs of one browser opening at once end up with the same
 * secret (they are the same volunteer). */
async function keep(fresh: string): Promise<string> {
  store ??= createStore(IDENTITY_DB.db, IDENTITY_DB.store);
  await update<string>(IDENTITY_KEY, (old) => (isSecret(old) ? old : fresh), store);
  const secret = await get<unknown>(IDENTITY_KEY, store);
  if (!isSecret(secret)) throw new Error('the stored identity could not be read back');
  return secret;
}

function withinWait<T>(p: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`IndexedDB did not answer in ${STORAGE_WAIT_MS / 1000} s`)), STORAGE_WAIT_MS);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

function isSecret(x: unknown): x is string {
  return typeof x === 'string' && SECRET.test(x);
}

/** 32 random bytes in unpadded base64url (43 characters). */
export function newSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The public id of a secret, as the coordinator derives it
 * (coordinator/page-identity.ts): the first 16 hex chars of its sha256. */
export function publicIdOf(secret: string): string {
  return bytesToHex(sha256(new TextEncoder().encode(secret))).slice(0, 16);
}
