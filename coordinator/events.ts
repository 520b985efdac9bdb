// Live stats for the dashboard and the join page: GET /api/events is a
// Server-Sent Events stream carrying the /api/stats JSON about once a second.
// One timer serves every subscriber (the stats are computed once per tick)
// and runs only while someone listens. `?view=totals` leaves out the
// per-worker and per-job lists: each join page needs only the grid's totals,
// and a classroom of them should not each receive every other one's row.
import type { Request, Response } from 'express';
import type { Stats } from './stats.ts';

export interface StatsEventsOptions {
  /** Milliseconds between events (default 1000). */
  intervalMs?: number;
  /** A subscriber that falls this many bytes behind is dropped (it reconnects). */
  maxBacklogBytes?: number;
}

export type StatsTotals = Omit<Stats, 'perWorker' | 'jobs'>;

export function totalsOf(stats: Stats): StatsTotals {
  const { perWorker: _perWorker, jobs: _jobs, ...totals } = stats;
  return totals;
}

/** An express handler for `/api/events`. */
export function statsEvents(stats: () => Stats, options: StatsEventsOptions = {}): (req: Request, res: Response) => void {
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
      const f = frame(totalsOf(s));
      for (const res of totals) send(res, f);
    }
  };

  return (req, res) => {
    const set = req.query.view === 'totals' ? totals : full;
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
    res.write(frame(set === totals ? totalsOf(s) : s));
    set.add(res);
    req.socket.setNoDelay(true);
    res.on('close', () => set.delete(res));
    if (!timer) {
      timer = setInterval(tick, intervalMs);
      timer.unref();
    }
  };
}
