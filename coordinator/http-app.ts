// The express app: the site, task bundles for pages, uploads from the SDK,
// and the stats API.
import { svgQr } from './join-urls.ts';
import express, { type Request, type Response } from 'express';
import type { BundleStore } from './bundle-store.ts';
import type { Hub } from './hub.ts';
import type { Asset } from './site-assets.ts';
import type { TokenCheck, TokenGate } from './auth.ts';
import { isBundleHash } from '../protocol/messages.ts';
import { statsEvents } from './events.ts';
import { publicStats } from './stats.ts';

export interface HttpAppOptions {
  hub: Hub;
  /** The URLs volunteers join at (see join-urls.ts); with the join token or not. */
  joinUrls?: (withJoinToken: boolean) => string[];
  bundles: BundleStore;
  assets: Map<string, Asset>;
  /** Submit (and admin) tokens, with the throttle the WebSocket shares. */
  gate: TokenGate;
  /** Largest bundle accepted by upload, in bytes. */
  maxBundleBytes?: number;
}

/** The token a request carries: `Authorization: Bearer T`, or `?token=T`
 * (an EventSource cannot set headers; the dashboard's URL carries it). */
function tokenOf(req: Request): string | undefined {
  const header = req.get('authorization');
  if (header !== undefined) return header.startsWith('Bearer ') ? header.slice(7) : '';
  return typeof req.query.token === 'string' ? req.query.token : undefined;
}

const addressOf = (req: Request) => req.socket.remoteAddress ?? 'unknown';

/** Answers a refused token check; `Connection: close` so a body nobody will read is not drained. */
function refuse(res: Response, check: Exclude<TokenCheck, { ok: true }>): void {
  res.set('connection', 'close');
  if (check.reason === 'throttled') res.status(429).set('retry-after', String(check.retryAfter)).type('text/plain').send(`too many failed attempts; retry in ${check.retryAfter} s`);
  else res.status(401).type('text/plain').send('invalid token');
}

/** The sandbox of task code: pages, their Web Workers and the task bundles
 * those import (blob: URLs of bundles fetched from here; Web Workers inherit
 * this policy from the page that starts them) may load code from and connect
 * to this origin only, so a task cannot reach other hosts or the volunteer's
 * network by fetch, WebSocket or import. 'wasm-unsafe-eval' lets tasks
 * compile WebAssembly and nothing more: `eval` and `new Function` stay
 * refused ('unsafe-eval' would allow them). */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' blob: 'wasm-unsafe-eval'",
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "img-src 'self' data:",
  "style-src 'self' 'unsafe-inline'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function createHttpApp(options: HttpAppOptions): express.Express {
  const { hub, bundles, assets, gate } = options;
  const maxBundleBytes = options.maxBundleBytes ?? 32 * 1024 * 1024;
  const app = express();
  app.disable('x-powered-by');
  app.use((_req, res, next) => {
    res.set({
      'content-security-policy': CONTENT_SECURITY_POLICY,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cross-origin-opener-policy': 'same-origin',
      // With COOP, makes the pages cross-origin isolated (on https and
      // localhost): SharedArrayBuffer and Wasm threads exist there, so tasks
      // with needs: ['wasm-threads'] have somewhere to run. Everything the
      // site loads is its own, so requiring CORP of the rest costs nothing.
      'cross-origin-embedder-policy': 'require-corp',
    });
    next();
  });

  /** Who may see each worker and job: a submit token or the admin token.
   * Undefined: no token given (the public totals); false: a wrong one. */
  const viewer = (req: Request, res: Response): boolean | undefined => {
    const given = tokenOf(req);
    if (given === undefined) return undefined;
    const check = gate.check(addressOf(req), given, { admin: true });
    if (check.ok) return true;
    refuse(res, check);
    return false;
  };

  // Anyone sees the grid's totals; worker ids, user agents and token names need a token.
  app.get('/api/stats', (req, res) => {
    const full = viewer(req, res);
    if (full === false) return;
    res.set('cache-control', 'no-store').json(full ? hub.stats() : publicStats(hub.stats()));
  });
  // The same stats, pushed about once a second (Server-Sent Events).
  const events = statsEvents(() => hub.stats());
  app.get('/api/events', (req, res) => {
    const full = viewer(req, res);
    if (full === false) return;
    events(req, res, full === true);
  });

  // Where volunteers join, and a QR code of the first URL (a LAN address when
  // there is one), for the dashboard to show large. A private grid's join
  // token goes only to token holders.
  const qrs = new Map<string, Promise<string>>();
  app.get('/api/join', async (req, res) => {
    const full = viewer(req, res);
    if (full === false) return;
    const urls = options.joinUrls?.(full === true) ?? [];
    let qr: Promise<string> | undefined;
    if (urls[0]) {
      qr = qrs.get(urls[0]) ?? svgQr(urls[0]);
      qrs.set(urls[0], qr);
    }
    res.set('cache-control', 'no-store').json({ urls, qr: qr ? await qr : undefined });
  });

  app.get('/bundles/:hash', async (req: Request<{ hash: string }>, res: Response) => {
    const bytes = isBundleHash(req.params.hash) ? await bundles.get(req.params.hash) : undefined;
    if (!bytes) {
      res.status(404).type('text/plain').send('no such bundle');
      return;
    }
    // Content-addressed: the bytes behind a hash never change.
    res.set('cache-control', 'public, max-age=31536000, immutable').type('text/javascript').send(bytes);
  });

  app.put(
    '/api/bundles/:hash',
    // The token and the name are checked before a byte of the body is read.
    (req: Request<{ hash: string }>, res: Response, next: express.NextFunction) => {
      const check = gate.check(addressOf(req), req.get('authorization')?.startsWith('Bearer ') ? req.get('authorization')!.slice(7) : '');
      if (!check.ok) return refuse(res, check);
      if (!isBundleHash(req.params.hash)) {
        res.set('connection', 'close').status(400).type('text/plain').send('a bundle is named by its lowercase hex sha256');
        return;
      }
      res.locals.tokenName = check.name;
      next();
    },
    express.raw({ type: () => true, limit: maxBundleBytes }),
    async (req: Request<{ hash: string }>, res: Response) => {
      try {
        await bundles.put(req.params.hash, req.body as Buffer, res.locals.tokenName as string);
        res.status(204).end();
      } catch (e) {
        res.status((e as { status?: number }).status ?? 400).type('text/plain').send((e as Error).message);
      }
    },
  );

  for (const [path, asset] of assets) {
    app.get(path, (_req, res) => {
      res.set('cache-control', 'no-cache').type(asset.type).send(asset.body);
    });
  }

  // Oversized or malformed bodies end here with a plain message.
  app.use((err: Error & { status?: number }, _req: Request, res: Response, _next: express.NextFunction) => {
    res.status(err.status ?? 500).type('text/plain').send(err.message);
  });
  return app;
}
