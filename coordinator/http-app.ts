// The express app: the site, task bundles for pages, uploads from the SDK,
// and the stats API.
import express, { type Request, type Response } from 'express';
import type { BundleStore } from './bundle-store.ts';
import type { Hub } from './hub.ts';
import type { Asset } from './site-assets.ts';
import type { TokenSet } from './auth.ts';
import { isBundleHash } from '../protocol/messages.ts';
import { statsEvents } from './events.ts';

export interface HttpAppOptions {
  hub: Hub;
  bundles: BundleStore;
  assets: Map<string, Asset>;
  tokens: TokenSet;
  /** Largest bundle accepted by upload, in bytes. */
  maxBundleBytes?: number;
}

function bearerMatches(req: Request, tokens: TokenSet): boolean {
  const header = req.get('authorization') ?? '';
  return tokens.match(header.startsWith('Bearer ') ? header.slice(7) : '') !== undefined;
}

/** The sandbox of task code: pages, their Web Workers and the task bundles
 * those import (blob: URLs of bundles fetched from here) may load code from
 * and connect to this origin only, so a task cannot reach other hosts or the
 * volunteer's network by fetch, WebSocket or import. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' blob:",
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
  const { hub, bundles, assets, tokens } = options;
  const maxBundleBytes = options.maxBundleBytes ?? 32 * 1024 * 1024;
  const app = express();
  app.disable('x-powered-by');
  app.use((_req, res, next) => {
    res.set({
      'content-security-policy': CONTENT_SECURITY_POLICY,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cross-origin-opener-policy': 'same-origin',
    });
    next();
  });

  app.get('/api/stats', (_req, res) => {
    res.set('cache-control', 'no-store').json(hub.stats());
  });
  // The same stats, pushed about once a second (Server-Sent Events).
  app.get('/api/events', statsEvents(() => hub.stats()));

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
    express.raw({ type: () => true, limit: maxBundleBytes }),
    async (req: Request<{ hash: string }>, res: Response) => {
      if (!bearerMatches(req, tokens)) {
        res.status(401).type('text/plain').send('invalid token');
        return;
      }
      if (!isBundleHash(req.params.hash)) {
        res.status(400).type('text/plain').send('a bundle is named by its lowercase hex sha256');
        return;
      }
      try {
        await bundles.put(req.params.hash, req.body as Buffer);
        res.status(204).end();
      } catch (e) {
        res.status(400).type('text/plain').send((e as Error).message);
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
