// A page's public id: what the coordinator keys its trust record by, and what
// the dashboard and the join page show. It is derived from the secret the
// page keeps (browser-worker/identity.ts), so naming it grants nothing: only
// the page holding the secret can join under it.
import { createHash } from 'node:crypto';

/** The first 16 hex chars (64 bits) of sha256 of the secret's text. */
export function publicId(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex').slice(0, 16);
}
