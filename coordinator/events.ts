// Live stats for the dashboard and the join page: GET /api/events is a
// Server-Sent Events stream carrying the /api/stats JSON about once a second.
// One timer serves every subscriber (the stats are computed once per tick)
// and runs only while someone listens. Subscribers without a token get the
// public totals (publicStats); a token holder gets the per-worker and
// per-job lists too, unless it asks for `?view=totals` (each join page
// needs only the grid's totals).
import type { Request, Response } from 'express';
import { publicStats, type Stats } from './stats.ts';

export interface StatsEventsOptions {
  /** Milliseconds between events (default 1000). */
  intervalMs?: number;
  /** A subscriber that falls this many bytes behind is dropped (it reconnects). */
  maxBacklogBytes?: number;
}

/** An express handler for `/api/events`; `mayViewAll` says whether the
 * request carried a token that may see the lists. */
export function statsEvents(stats: () => Stats, options: StatsEventsOptions = {}): (req: Request, res: Response, mayViewAll: boolean) => void {
  const intervalMs = options.intervalMs ?? 1000;
  const maxBacklog = options.maxBacklogBytes ?? 1024 * 1024;
  const full = new Set<Response>();
  const totals = new Set<Response>();
  let timer: ReturnType<typeof setInterval> | undefined;

  const send = (res: Response, frame: string) => {
    if (res.writableLength > maxBacklog) res.destroy();
    else res.write(frame);
  };
  const frame = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`;

  const tick = () => {
    if (full.size + totals.size === 0) {
      clearInterval(timer);
      timer = undefined;
      return;
    }
    const s = stats();
    if (full.size > 0) {
      const f = frame(s);
      for (const res of full) send(res, f);
    }
    if (totals.size > 0) {
      const f = frame(publicStats(s));
      for (const res of totals) send(res, f);
    }
  };

  return (req, res, mayViewAll) => {
    const set = mayViewAll && req.query.view !== 'totals' ? full : totals;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      // Tells a buffering reverse proxy (nginx) to pass events through at once.
      'x-accel-buffering': 'no',
    });
    // The browser reconnects by itself after this many ms if the stream breaks.
    res.write('retry: 2000\n\n');
    const s = stats();
    res.write(frame(set === totals ? publicStats(s) : s));
    set.add(res);
    req.socket.setNoDelay(true);
    res.on('close', () => set.delete(res));
    if (!timer) {
      timer = setInterval(tick, intervalMs);
      timer.unref();
    }
  };
}
