// The scheduler decides which page runs which task. It knows task ids and
// page capacities only; the task store remembers everything else.
//
// Pull model: each page has `threads` slots plus a prefetch window sized
// from its measured task rate (about PREFETCH_MS of work), so a page always
// has its next tasks on hand when one finishes and tiny tasks are not held
// back by round trips. Tasks of a page that leaves are handed back to the
// caller to requeue (at the front).

export interface PageSlots {
  id: string;
  threads: number;
  /** Tasks on the page waiting for their subtasks: their slots are free. */
  blocked: number;
  /** Task ids sent to this page and not yet finished. */
  assigned: Set<number>;
  /** Tasks finished per second, smoothed. */
  rate: number;
  windowStart: number;
  windowDone: number;
}

/** How much work, in milliseconds at its measured rate, a page holds ahead. */
const PREFETCH_MS = 100;
const RATE_WINDOW_MS = 100;
const MAX_PREFETCH = 8192;

export interface SchedulerOptions {
  /** Extra tasks sent beyond a page's threads, so its workers never wait on a
   * round trip; by default from the page's measured rate. */
  prefetch?: (page: PageSlots) => number;
  /** Milliseconds clock (tests pass their own). */
  now?: () => number;
}

function ratePrefetch(page: PageSlots): number {
  return Math.min(MAX_PREFETCH, Math.max(page.threads * 2, Math.ceil((page.rate * PREFETCH_MS) / 1000)));
}

export class Scheduler {
  private readonly pages = new Map<string, PageSlots>();
  private readonly assignedTo = new Map<number, PageSlots>();
  /** Requeued tasks go first: they have waited longest. */
  private retry: number[] = [];
  private fresh: number[] = [];
  private freshHead = 0;
  /** Membership of both queues; removing an id here cancels it lazily. */
  private readonly queued = new Set<number>();
  private readonly prefetch: (page: PageSlots) => number;
  private readonly now: () => number;

  constructor(options: SchedulerOptions = {}) {
    this.prefetch = options.prefetch ?? ratePrefetch;
    this.now = options.now ?? (() => performance.now());
  }

  get queuedCount(): number {
    return this.queued.size;
  }
  get assignedCount(): number {
    return this.assignedTo.size;
  }
  get pageCount(): number {
    return this.pages.size;
  }
  get threadCount(): number {
    let n = 0;
    for (const p of this.pages.values()) n += p.threads;
    return n;
  }

  addPage(id: string, threads: number): void {
    if (this.pages.has(id)) throw new Error(`page ${id} is already known`);
    this.pages.set(id, { id, threads, blocked: 0, assigned: new Set(), rate: 0, windowStart: this.now(), windowDone: 0 });
  }

  /** A page's tasks that wait on subtasks do not hold their slots, so a
   * deep task tree never deadlocks a page. */
  setBlocked(id: string, blocked: number): void {
    const page = this.pages.get(id);
    if (page) page.blocked = blocked;
  }

  /** Forgets a page and returns the tasks it held, for the caller to requeue or fail. */
  removePage(id: string): number[] {
    const page = this.pages.get(id);
    if (!page) return [];
    this.pages.delete(id);
    const held = [...page.assigned];
    for (const task of held) this.assignedTo.delete(task);
    return held;
  }

  enqueue(task: number): void {
    if (this.queued.has(task) || this.assignedTo.has(task)) throw new Error(`task ${task} is already scheduled`);
    this.queued.add(task);
    this.fresh.push(task);
  }

  /** Puts a task back at the front of the queue (its page was lost). */
  requeue(task: number): void {
    if (this.queued.has(task) || this.assignedTo.has(task)) throw new Error(`task ${task} is already scheduled`);
    this.queued.add(task);
    this.retry.push(task);
  }

  /** The page holding a task, if any. */
  holder(task: number): string | undefined {
    return this.assignedTo.get(task)?.id;
  }

  /** Marks a task finished by `pageId`. False when that page no longer holds it
   * (it was requeued or cancelled meanwhile), so the caller drops the result. */
  finish(task: number, pageId: string): boolean {
    const page = this.assignedTo.get(task);
    if (!page || page.id !== pageId) return false;
    page.assigned.delete(task);
    this.assignedTo.delete(task);
    this.countDone(page);
    return true;
  }

  private countDone(page: PageSlots): void {
    page.windowDone++;
    const now = this.now();
    const elapsed = now - page.windowStart;
    if (elapsed < RATE_WINDOW_MS) return;
    const windowRate = (page.windowDone * 1000) / elapsed;
    page.rate = page.rate === 0 ? windowRate : 0.5 * page.rate + 0.5 * windowRate;
    page.windowStart = now;
    page.windowDone = 0;
  }

  /** A page's measured rate in tasks per second (0 until measured). */
  rateOf(id: string): number {
    return this.pages.get(id)?.rate ?? 0;
  }

  /** Removes a task wherever it is. Returns where it was, so the caller can
   * tell the page to drop it. */
  cancel(task: number): { where: 'queued' } | { where: 'assigned'; pageId: string } | { where: 'unknown' } {
    if (this.queued.delete(task)) return { where: 'queued' };
    const page = this.assignedTo.get(task);
    if (page) {
      page.assigned.delete(task);
      this.assignedTo.delete(task);
      return { where: 'assigned', pageId: page.id };
    }
    return { where: 'unknown' };
  }

  /** Hands queued tasks to pages with room: first up to each page's threads,
   * round robin so a small queue spreads out, then up to its prefetch window. */
  dispatch(): Map<string, number[]> {
    const out = new Map<string, number[]>();
    if (this.queued.size === 0 || this.pages.size === 0) return out;
    this.fill(out, (p) => p.threads + p.blocked);
    this.fill(out, (p) => p.threads + p.blocked + this.prefetch(p));
    return out;
  }

  private fill(out: Map<string, number[]>, capacity: (p: PageSlots) => number): void {
    let open = [...this.pages.values()].filter((p) => p.assigned.size < capacity(p));
    while (open.length > 0 && this.queued.size > 0) {
      const stillOpen: PageSlots[] = [];
      for (const page of open) {
        const task = this.take();
        if (task === undefined) return;
        page.assigned.add(task);
        this.assignedTo.set(task, page);
        let batch = out.get(page.id);
        if (!batch) out.set(page.id, (batch = []));
        batch.push(task);
        if (page.assigned.size < capacity(page)) stillOpen.push(page);
      }
      open = stillOpen;
    }
  }

  private take(): number | undefined {
    while (this.retry.length > 0) {
      const task = this.retry.shift()!;
      if (this.queued.delete(task)) return task;
    }
    while (this.freshHead < this.fresh.length) {
      const task = this.fresh[this.freshHead++];
      if (this.queued.delete(task)) {
        this.compact();
        return task;
      }
    }
    this.compact();
    return undefined;
  }

  /** Drops the consumed head of `fresh` once it dominates the array. */
  private compact(): void {
    if (this.freshHead > 1024 && this.freshHead * 2 > this.fresh.length) {
      this.fresh = this.fresh.slice(this.freshHead);
      this.freshHead = 0;
    }
  }
}
