// Which web pages may open the coordinator's WebSockets. A browser sends the
// Origin of the page that opens a socket and lets any site open one, so
// without this check any website a LAN user visits could join the grid as a
// worker from their browser. Pages served by the coordinator itself are
// same-origin; programs (the Node SDK) send no Origin and are let through:
// they authenticate with a token.
import type { IncomingMessage } from 'node:http';

/** Parses `--allowed-origins`: a comma-separated list of origins (scheme://host[:port]). */
export function parseOrigins(text: string): string[] {
  return text
    .split(',')
    .map((o) => o.trim())
    .filter((o) => o !== '')
    .map((o) => {
      let url: URL;
      try {
        url = new URL(o);
      } catch {
        throw new Error(`"${o}" is not an origin like https://example.org`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`"${o}" must be an http: or https: origin`);
      return url.origin;
    });
}

/** A check for upgrade requests: no Origin, the Host's own, or one of `allowed`. */
export function originChecker(allowed: string[] = []): (req: IncomingMessage) => boolean {
  const extra = new Set(allowed.map((o) => new URL(o).origin));
  return (req) => {
    const origin = req.headers.origin;
    if (origin === undefined) return true;
    if (extra.has(origin)) return true;
    try {
      const url = new URL(origin);
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.host === (req.headers.host ?? '').toLowerCase();
    } catch {
      // "null" (a sandboxed frame, a file: page) and anything unparsable.
      return false;
    }
  };
}
