// Handing waiting tasks to this page's Web Workers: how many each worker
// holds, the code of their bundles (loaded once), and copies of lent
// subtasks a peer is slow to answer. The runtime (runtime.ts) keeps the
// queues, and says through PlacementHost what waits and in which order.
import type { RemoteErrorInfo, TaskSpec } from '../protocol/messages.ts';
import { loadBundle } from './bundle-cache.ts';
import type { Timers } from './clock.ts';
import { PESSIMISTIC_MS, fnKey, type Durations } from './durations.ts';
import { errorInfo } from './error-info.ts';
import type { ReportOutbox } from './page-report.ts';
import type { SharedConstants } from './shared-constants.ts';
import type { Subtasks } from './subtasks.ts';
import { gridTaskOf, type RunId } from './task-origin.ts';
import type { WorkerPool } from './worker-pool.ts';

/** What placement asks of the runtime, which keeps the queues. */
export interface PlacementHost {
  /** How many tasks wait here for a Web Worker. */
  waiting(): number;
  /** Offers the waiting tasks to `place` in the order they are served;
   * those it takes (true) leave their queue. */
  offer(place: (task: TaskSpec) => boolean): void;
  /** Bundle `hash` could not be loaded: no task of it can run here. */
  unloadable(hash: string, error: RemoteErrorInfo): void;
  /** Copies of `n` overdue lent subtasks started here. */
  copied(n: number): void;
  /** The check for overdue lent subtasks ran (see watchCopies). */
  checked(): void;
}

export class Placement {
  private readonly code = new Map<string, string>();
  private readonly loading = new Set<string>();
  private copyTimer: number | undefined;
  private stopped = false;

  constructor(
    private readonly host: PlacementHost,
    private readonly pool: WorkerPool,
    private readonly durations: Durations,
    private readonly shared: SharedConstants,
    private readonly subtasks: Pick<Subtasks, 'anyLent' | 'copyOverdue'>,
    private readonly report: ReportOutbox,
    private readonly clock: Timers,
  ) {}

  /** Gives waiting tasks to workers. A worker holds, besides tasks waiting
   * on subtasks, one task of a function that awaits, or about HOLD_MS of a
   * synchronous one (at most its share of the queue): it runs those back to
   * back, with no wait for this thread, which on a busy machine can take
   * milliseconds to be scheduled, and tiny tasks travel in batches. With
   * nothing waiting, idle workers run copies of overdue lent subtasks. */
  pump(): void {
    const waiting = this.host.waiting();
    if (waiting === 0) {
      if (this.subtasks.anyLent) this.copyOverdue();
    } else {
      const batch = Math.max(1, Math.min(64, Math.ceil(waiting / this.pool.slots.length)));
      this.host.offer((task) => this.place(task, batch));
    }
    this.pool.sendBatches();
  }

  /** While subtasks are lent, looks now and then for overdue ones. */
  watchCopies(): void {
    if (this.copyTimer !== undefined || !this.subtasks.anyLent || this.stopped) return;
    this.copyTimer = this.clock.setTimeout(() => {
      this.copyTimer = undefined;
      this.pump();
      this.host.checked();
      this.watchCopies();
    }, COPY_CHECK_MS);
  }

  /** The clock stops with the page: no timer is armed any more. */
  stop(): void {
    this.stopped = true;
  }

  /** Copies of overdue lent subtasks run in idle Web Workers (see Subtasks.copyOverdue). */
  private copyOverdue(): void {
    const copied = this.subtasks.copyOverdue(performance.now(), (task) => this.place(task, 1));
    if (copied > 0) this.host.copied(copied);
  }

  /** Hands a task to a worker with room; false if none has room (or its code is loading). */
  private place(task: TaskSpec, batch: number): boolean {
    const code = this.code.get(task.bundle);
    if (code === undefined) {
      this.fetchBundle(task.bundle);
      return false;
    }
    const key = fnKey(task);
    const usualMs = this.durations.get(key, PESSIMISTIC_MS);
    // A task that awaits keeps its worker's turn until it ends (unless it
    // waits on subtasks): holding several would only queue them there.
    const hold = this.durations.awaits(key) ? 1 : Math.floor(HOLD_MS / Math.max(usualMs, 0.01));
    const slot = this.pool.pick(task.scope, Math.max(1, Math.min(batch, hold)));
    if (!slot) return false;
    this.pool.give(slot, task, code, task.scope === undefined ? undefined : this.shared.get(task.scope));
    const grid = gridTaskOf(task.id as RunId);
    if (grid !== undefined) this.report.started(grid, usualMs);
    return true;
  }

  private fetchBundle(hash: string): void {
    if (this.loading.has(hash)) return;
    this.loading.add(hash);
    loadBundle(hash).then(
      (code) => {
        this.loading.delete(hash);
        this.code.set(hash, code);
        this.pump();
      },
      (e: Error) => {
        this.loading.delete(hash);
        this.host.unloadable(hash, errorInfo(e));
      },
    );
  }
}

/** About how much work a Web Worker holds (see pump). */
const HOLD_MS = 200;

/** Lent subtasks are looked at this often for overdue ones (see Subtasks.copyOverdue). */
const COPY_CHECK_MS = 250;
