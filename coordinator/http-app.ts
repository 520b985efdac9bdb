// The express app: the site, task bundles for pages, uploads from the SDK,
// and the stats API.
import express, { type Request, type Response } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { BundleStore } from './bundle-store.ts';
import type { Hub } from './hub.ts';
import type { Asset } from './site-assets.ts';
import { isBundleHash } from '../protocol/messages.ts';

export interface HttpAppOptions {
  hub: Hub;
  bundles: BundleStore;
  assets: Map<string, Asset>;
  token: string;
  /** Largest bundle accepted by upload, in bytes. */
  maxBundleBytes?: number;
}

function bearerMatches(req: Request, token: string): boolean {
  const header = req.get('authorization') ?? '';
  const given = header.startsWith('Bearer ') ? header.slice(7) : '';
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}

export function createHttpApp(options: HttpAppOptions): express.Express {
  const { hub, bundles, assets, token } = options;
  const maxBundleBytes = options.maxBundleBytes ?? 32 * 1024 * 1024;
  const app = express();
  app.disable('x-powered-by');

  app.get('/api/stats', (_req, res) => {
    res.set('cache-control', 'no-store').json(hub.stats());
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
    express.raw({ type: () => true, limit: maxBundleBytes }),
    async (req: Request<{ hash: string }>, res: Response) => {
      if (!bearerMatches(req, token)) {
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
