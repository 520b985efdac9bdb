// A page's identity: the page keeps a random secret (browser-worker/identity.ts)
// and sends it in its hello; everyone else, the dashboard included, sees only
// this digest of it, so that no one can claim a page's record without the secret.
import { createHash } from 'node:crypto';

/** The public id of a page identity secret: 16 hex characters of its sha256. */
export function publicId(secret: string): string {
  return createHash('sha256').update(secret).digest('hex').slice(0, 16);
}
