// The scheduler decides which page runs which task. It knows task ids, page
// capacities and what has started; the task store remembers everything else.
//
// Pull model: each page has `threads` slots plus a prefetch window sized
// from its measured task rate (about PREFETCH_MS of work), so a page always
// has its next tasks on hand when one finishes and tiny tasks are not held
// back by round trips. When the queue runs dry, an idle page first takes
// tasks another page holds but has not started (work stealing), then runs a
// copy of the oldest running tasks (straggler backup): the first result
// wins. Tasks of a page that leaves are handed back to the caller.
//
// A page's word for its thread count is not trusted: it holds at most
// START_HELD tasks, plus two for each it has completed (TCP's slow start), so
// a page claiming 1024 threads gets 1024 tasks only once it has shown it
// finishes them; and every task it holds gets a backup copy in time, even
// one that spawned subtasks (after a longer wait: the copy reruns its tree).
//
// Subtasks stay on the page that spawned them. When a page has more ready
// subtasks than free slots and another page is idle, the idle page is told
// to steal them from it over WebRTC (peer work stealing); where no link can
// serve, the busy page is told to release them to the grid queue instead.
//
// The queue is shared fairly between clients and their jobs (fair-queue.ts);
// when a job is due slots that pages fill with unstarted tasks of jobs over
// their share, those are taken back (revoked) and the slots handed on.
//
// Tasks with needs (`handle.with({ needs: ['webgpu'] })`) wait in a queue of
// their own (need-queue.ts), offered first to the pages that meet them; they
// are stolen and backed up only by such pages. Tasks without needs may run
// on any page.
//
// A task may also be barred from some pages (`eligible`): a replica of a
// verified task never runs on a page whose identity already ran one of its
// replicas, nor on a quarantined page. A page passes over the queued tasks
// barred to it (they keep their place) and is never given one by a steal,
// a backup copy or a need.
import { FairQueue, type JobKey } from './fair-queue.ts';
import type { Need } from '../protocol/needs.ts';
import { NeedQueue } from './need-queue.ts';

export interface PageSlots<P extends string = string, T extends number = number> {
  id: P;
  threads: number;
  /** Tasks on the page waiting for their subtasks: their slots are free. */
  blocked: number;
  /** Subtasks spawned on the page and not started: others may steal them. */
  ready: number;
  /** Tasks it holds that the scheduler did not send (its own subtasks and
   * those taken from peers): they occupy slots. */
  local: number;
  /** Registered with the PeerServer: it can link to other pages. */
  peer: boolean;
  /** Ready subtasks already promised to thieves since its last report. */
  promised: number;
  /** Until when a steal hint to this page is in flight (no second one meanwhile). */
  stealUntil: number;
  /** Tasks this page holds, finished by nobody yet. */
  assigned: Set<T>;
  /** Of those, the ones it reported started. */
  started: Set<T>;
  /** When it last showed its work advancing (see progressed). */
  lastProgress: number;
  /** Tasks finished per second, smoothed. */
  rate: number;
  windowStart: number;
  windowDone: number;
  done: number;
}

/** How much work, in milliseconds at its measured rate, a page holds ahead. */
const PREFETCH_MS = 100;
const RATE_WINDOW_MS = 100;
const MAX_PREFETCH = 8192;
/** A task must have run this long, and twice its page's average, before it gets a backup copy. */
const BACKUP_AFTER_MS = 500;
/** A task that spawned subtasks gets its copy after ten times its page's average... */
const SPAWNED_BACKUP_FACTOR = 10;
/** ...and at least this long (the default of `spawnedBackupMs`). */
const SPAWNED_BACKUP_MS = 30_000;
/** A page that shows its work advancing puts off the copy of its task with subtasks up to this many times. */
const PROGRESS_GRACE = 10;
/** Tasks a page may hold before it has completed any (see room). */
const START_HELD = 32;
/** How long a thief may take to answer a steal hint (a WebRTC link may take
 * seconds to fail) before it may get another. */
const STEAL_WAIT_MS = 8000;
/** How long a page that was to get released subtasks waits for them before asking again. */
const RELEASE_WAIT_MS = 1000;

export interface SchedulerOptions<P extends string = string, T extends number = number> {
  /** Extra tasks sent beyond a page's threads, so its workers never wait on a
   * round trip; by default from the page's measured rate. */
  prefetch?: (page: PageSlots<P, T>) => number;
  /** Milliseconds clock (tests pass their own). */
  now?: () => number;
  /** Whether a running task spawned subtasks: its backup copy would rerun
   * its whole tree, so it waits `spawnedBackupMs` (at least) rather than 500 ms. */
  spawned?: (task: T) => boolean;
  /** Default 30 s. */
  spawnedBackupMs?: number;
  /** What a task needs of its page (none: any page runs it). */
  needsOf?: (task: T) => readonly Need[] | undefined;
  /** Whether a page may run a task at all (default: any may). */
  eligible?: (page: P, task: T) => boolean;
}

/** Queued tasks barred to a page that one fill passes over before it gives up on that page. */
const MAX_PASSED_OVER = 64;

/** What one dispatch decided: tasks to send, and copies to withdraw. */
export interface Dispatch<P extends string = string, T extends number = number> {
  send: Map<P, T[]>;
  /** Tasks taken back from a page that had not started them (stolen). */
  revoke: Map<P, T[]>;
  /** Idle page -> the page to steal ready subtasks from over WebRTC, and how many. */
  hints: Map<P, { from: P; max: number }>;
  /** Page -> how many ready subtasks to hand to the grid queue. */
  releases: Map<P, number>;
}

function ratePrefetch(page: PageSlots): number {
  return Math.min(MAX_PREFETCH, Math.max(page.threads * 2, Math.ceil((page.rate * PREFETCH_MS) / 1000)));
}

const NONE: ReadonlySet<Need> = new Set();

function pairKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

function push<P, T>(map: Map<P, T[]>, key: P, task: T): void {
  const list = map.get(key);
  if (list) list.push(task);
  else map.set(key, [task]);
}

/** A task taken back from a page and sent to it again in the same turn
 * never left it: neither message goes. */
function unsendRevoked<P extends string, T extends number>(out: Dispatch<P, T>): void {
  for (const [page, revoked] of out.revoke) {
    const sent = out.send.get(page);
    if (!sent) continue;
    const taken = new Set(revoked);
    const again = new Set(sent.filter((t) => taken.has(t)));
    if (again.size === 0) continue;
    const keep = revoked.filter((t) => !again.has(t));
    if (keep.length > 0) out.revoke.set(page, keep);
    else out.revoke.delete(page);
    const rest = sent.filter((t) => !again.has(t));
    if (rest.length > 0) out.send.set(page, rest);
    else out.send.delete(page);
  }
}

/** Generic in its page and task ids, so that the hub's branded ids pass through unchanged. */
export class Scheduler<P extends string = string, T extends number = number> {
  private readonly pages = new Map<P, PageSlots<P, T>>();
  /** Every page running a task: usually one, two while a backup runs. */
  private readonly holders = new Map<T, PageSlots<P, T>[]>();
  private readonly startedAt = new Map<T, number>();
  /** Pairs of pages between which no WebRTC link could be made. */
  private readonly unlinkable = new Set<string>();
  /** Queued tasks, and the job each held task is charged to. */
  private readonly queue = new FairQueue<T>();
  private readonly prefetch: (page: PageSlots<P, T>) => number;
  private readonly now: () => number;
  private readonly spawned: (task: T) => boolean;
  private readonly spawnedBackupMs: number;
  // ---- placement by need (see NeedQueue) ----
  private readonly needsOf: (task: T) => readonly Need[] | undefined;
  /** Queued tasks with needs; they are not in `queued`. */
  private readonly needQueue = new NeedQueue<T>();
  /** The needs each page meets (pages not listed meet none). */
  private readonly needsMet = new Map<P, ReadonlySet<Need>>();
  private readonly eligible: ((page: P, task: T) => boolean) | undefined;

  constructor(options: SchedulerOptions<P, T> = {}) {
    this.needsOf = options.needsOf ?? (() => undefined);
    this.eligible = options.eligible;
    this.prefetch = options.prefetch ?? ratePrefetch;
    this.now = options.now ?? (() => performance.now());
    this.spawned = options.spawned ?? (() => false);
    this.spawnedBackupMs = options.spawnedBackupMs ?? SPAWNED_BACKUP_MS;
  }

  get queuedCount(): number {
    return this.queue.size + this.needQueue.size;
  }

  /** Queued tasks with needs that no joined page meets, by needs ('webgpu', 'webgpu+wasm-simd'). */
  waitingForNeeds(): Record<string, number> {
    if (this.needQueue.size === 0) return {};
    return this.needQueue.waiting([...this.pages.keys()].map((id) => this.needsMet.get(id) ?? NONE));
  }

  /** The needs a page meets, from the capabilities it reported. */
  setNeedsMet(id: P, met: ReadonlySet<Need>): void {
    if (this.pages.has(id)) this.needsMet.set(id, met);
  }
  get assignedCount(): number {
    return this.holders.size;
  }
  /** Tasks pages hold but have not started (their prefetch). */
  get prefetchedCount(): number {
    let n = 0;
    for (const p of this.pages.values()) n += p.assigned.size - p.started.size;
    return n;
  }
  get threadCount(): number {
    let n = 0;
    for (const p of this.pages.values()) n += p.threads;
    return n;
  }

  page(id: P): Readonly<PageSlots<P, T>> | undefined {
    return this.pages.get(id);
  }

  addPage(id: P, threads: number): void {
    if (this.pages.has(id)) throw new Error(`page ${id} is already known`);
    this.pages.set(id, {
      id,
      threads,
      blocked: 0,
      ready: 0,
      local: 0,
      peer: false,
      promised: 0,
      stealUntil: 0,
      assigned: new Set(),
      started: new Set(),
      lastProgress: 0,
      rate: 0,
      windowStart: this.now(),
      windowDone: 0,
      done: 0,
    });
  }

  /** Changes a page's capacity: its Web Worker count, or 0 while its
   * volunteer has paused it. A paused page is sent nothing new, and the
   * tasks it holds but has not started are taken back and queued again
   * (ahead of fresh ones, with no attempt spent); its running tasks finish.
   * Returns every task taken back, for the caller to withdraw from the page. */
  setThreads(id: P, threads: number): T[] {
    const page = this.pages.get(id);
    if (!page) return [];
    page.threads = threads;
    if (threads > 0) return [];
    const taken: T[] = [];
    for (const task of page.assigned) {
      if (page.started.has(task)) continue;
      taken.push(task);
      // A backup copy elsewhere keeps the task alive; otherwise it queues again.
      if (this.dropHolder(task, page)) this.requeue(task);
    }
    return taken;
  }

  /** A page's load as it reported it. Its tasks that wait on subtasks do not
   * hold their slots, so a deep task tree never deadlocks a page; tasks it
   * runs that the scheduler did not send do. */
  setLoad(id: P, load: { blocked: number; ready: number; local: number }): void {
    const page = this.pages.get(id);
    if (!page) return;
    page.blocked = load.blocked;
    page.ready = load.ready;
    page.local = load.local;
    page.promised = 0;
  }

  /** Whether a page can link to others over WebRTC. */
  setPeer(id: P, open: boolean): void {
    const page = this.pages.get(id);
    if (page) page.peer = open;
  }

  /** A thief answered its steal hint. Without a link, the pair is not tried again. */
  stealAnswered(thief: P, victim: P, linked: boolean): void {
    const page = this.pages.get(thief);
    if (page) page.stealUntil = 0;
    if (!linked) this.unlinkable.add(pairKey(thief, victim));
  }

  /** Forgets a page. Returns the tasks it alone held, for the caller to
   * requeue or fail (a task with a backup elsewhere keeps running there). */
  removePage(id: P): T[] {
    const page = this.pages.get(id);
    if (!page) return [];
    this.pages.delete(id);
    this.needsMet.delete(id);
    for (const key of this.unlinkable) if (key.startsWith(`${id}|`) || key.endsWith(`|${id}`)) this.unlinkable.delete(key);
    const orphans: T[] = [];
    for (const task of page.assigned) {
      if (this.dropHolder(task, page)) orphans.push(task);
    }
    return orphans;
  }

  /** Queues a task in its job (the default job when none is given); a task
   * with needs waits in the need queue instead (fair share does not order those). */
  enqueue(task: T, job?: JobKey): void {
    if (this.queue.isQueued(task) || this.holders.has(task)) throw new Error(`task ${task} is already scheduled`);
    if (this.queueByNeeds(task, false)) return;
    this.queue.enqueue(task, job);
  }

  /** Puts a task back at the front of its job's queue (its page was lost). */
  requeue(task: T, job?: JobKey): void {
    if (this.queue.isQueued(task) || this.holders.has(task)) throw new Error(`task ${task} is already scheduled`);
    if (this.queueByNeeds(task, true)) return;
    this.queue.requeue(task, job);
  }

  /** Holds a client's queued tasks back (none is sent) or lets them go again;
   * what its pages run goes on. */
  holdClient(client: string, on: boolean): void {
    this.queue.hold(client, on);
  }

  /** The job a queued or held task is charged to (its subtasks join it). */
  jobOf(task: T): JobKey | undefined {
    return this.queue.jobKeyOf(task);
  }

  /** The pages holding a task. */
  holdersOf(task: T): P[] {
    return (this.holders.get(task) ?? []).map((p) => p.id);
  }

  started(task: T, pageId: P): void {
    const page = this.pages.get(pageId);
    if (!page?.assigned.has(task)) return;
    page.started.add(task);
    if (!this.startedAt.has(task)) this.startedAt.set(task, this.now());
  }

  /** A page showed its work advancing: it finished tasks the coordinator did
   * not send it, or got back subtasks it lent (a result of a task it holds
   * counts as well, in finish). Its tasks with
   * subtasks are then not copied so soon (see backupDue). */
  progressed(pageId: P): void {
    const page = this.pages.get(pageId);
    if (page) page.lastProgress = this.now();
  }

  /** Whether a page holds a task and has started it. */
  runs(pageId: P, task: T): boolean {
    return this.pages.get(pageId)?.started.has(task) ?? false;
  }

  /** A page gives a task back unrun (its Web Worker was replaced). True if
   * no other page holds it, so the caller requeues it. */
  release(task: T, pageId: P): boolean {
    const page = this.pages.get(pageId);
    if (!page?.assigned.has(task)) return false;
    return this.dropHolder(task, page);
  }

  /** Marks a task finished by `pageId`. Returns the other pages that held a
   * copy (to be told to drop it), or undefined when this page no longer
   * holds it: a late duplicate, whose result the caller drops. */
  finish(task: T, pageId: P): P[] | undefined {
    const list = this.holders.get(task);
    const page = list?.find((p) => p.id === pageId);
    if (!list || !page) return undefined;
    this.holders.delete(task);
    this.startedAt.delete(task);
    this.queue.remove(task);
    for (const p of list) {
      p.assigned.delete(task);
      p.started.delete(task);
    }
    this.countDone(page);
    return list.filter((p) => p !== page).map((p) => p.id);
  }

  /** Removes a task wherever it is; returns the pages that held it. */
  cancel(task: T): P[] {
    if (this.queue.remove(task) || this.needQueue.delete(task)) return [];
    const list = this.holders.get(task) ?? [];
    this.holders.delete(task);
    this.startedAt.delete(task);
    for (const p of list) {
      p.assigned.delete(task);
      p.started.delete(task);
    }
    return list.map((p) => p.id);
  }

  /** A page's measured rate in tasks per second (0 until measured). */
  rateOf(id: P): number {
    return this.pages.get(id)?.rate ?? 0;
  }

  dispatch(): Dispatch<P, T> {
    const out: Dispatch<P, T> = { send: new Map(), revoke: new Map(), hints: new Map(), releases: new Map() };
    if (this.pages.size === 0) return out;
    if (this.needQueue.size > 0) {
      this.fillNeeds(out, (p) => p.threads);
      this.fillNeeds(out, (p) => p.threads + this.prefetch(p));
    }
    if (this.queue.ready > 0) {
      this.fill(out, (p) => p.threads);
      this.fill(out, (p) => p.threads + this.prefetch(p));
      if (this.queue.ready > 0 && this.rebalance(out) > 0) {
        this.fill(out, (p) => p.threads);
        this.fill(out, (p) => p.threads + this.prefetch(p));
        unsendRevoked(out);
      }
    }
    if (this.queue.ready === 0) {
      this.steal(out);
      this.stealSubtasks(out);
      this.backup(out);
    }
    return out;
  }

  // ---- internals ----

  /** Slots in use, or spoken for by tasks waiting on the page. */
  private busy(p: PageSlots<P, T>): number {
    return p.assigned.size + p.local - p.blocked;
  }

  /** How many more tasks a page may be sent within `capacity` slots, and
   * within what it has earned by completing tasks (its word for its thread
   * count, and for its tasks waiting on subtasks, is not trusted). */
  private room(p: PageSlots<P, T>, capacity: number): number {
    return Math.min(capacity - this.busy(p), START_HELD + 2 * p.done - p.assigned.size);
  }

  private assign(out: Dispatch<P, T>, page: PageSlots<P, T>, task: T): void {
    page.assigned.add(task);
    page.stealUntil = 0;
    const list = this.holders.get(task);
    if (list) list.push(page);
    else this.holders.set(task, [page]);
    push(out.send, page.id, task);
  }

  /** Removes one holder; true if none is left. */
  private dropHolder(task: T, page: PageSlots<P, T>): boolean {
    page.assigned.delete(task);
    page.started.delete(task);
    const list = this.holders.get(task);
    if (!list) return false;
    const rest = list.filter((p) => p !== page);
    if (rest.length > 0) {
      this.holders.set(task, rest);
      return false;
    }
    this.holders.delete(task);
    this.startedAt.delete(task);
    return true;
  }

  private fill(out: Dispatch<P, T>, capacity: (p: PageSlots<P, T>) => number): void {
    // A paused page (0 threads) takes nothing, not even a prefetch.
    let open = [...this.pages.values()].filter((p) => p.threads > 0 && this.room(p, capacity(p)) > 0);
    while (open.length > 0 && this.queue.ready > 0) {
      const stillOpen: PageSlots<P, T>[] = [];
      for (const page of open) {
        const task = this.takeFor(page);
        // Nothing it may run near the head of the queue: the others take their turns.
        if (task === undefined) continue;
        this.assign(out, page, task);
        if (this.room(page, capacity(page)) > 0) stillOpen.push(page);
      }
      open = stillOpen;
    }
  }

  /** The next queued task `page` may run, passing over at most
   * MAX_PASSED_OVER that are barred to it: those go back to the front of
   * their jobs, in their order, for the other pages. */
  private takeFor(page: PageSlots<P, T>): T | undefined {
    // The usual case, on the dispatch hot path: the head task may run here.
    const first = this.take();
    if (first === undefined || !this.eligible || this.eligible(page.id, first)) return first;
    const passed: T[] = [first];
    let found: T | undefined;
    while (passed.length < MAX_PASSED_OVER) {
      const task = this.take();
      if (task === undefined) break;
      if (this.eligible(page.id, task)) {
        found = task;
        break;
      }
      passed.push(task);
    }
    for (const task of passed) this.queue.requeue(task);
    return found;
  }

  /** Pages with idle threads take half of the unstarted tasks of the page holding the most. */
  private steal(out: Dispatch<P, T>): void {
    for (const thief of this.pages.values()) {
      let room = this.room(thief, thief.threads);
      while (room > 0) {
        let victim: PageSlots<P, T> | undefined;
        let most = 0;
        for (const p of this.pages.values()) {
          const unstarted = p.assigned.size - p.started.size;
          if (p !== thief && unstarted > most) {
            victim = p;
            most = unstarted;
          }
        }
        if (!victim || most < 2) return;
        const take = Math.min(room, Math.ceil(most / 2));
        let taken = 0;
        for (const task of victim.assigned) {
          if (taken === take) break;
          if (victim.started.has(task) || (this.holders.get(task)?.length ?? 0) > 1 || !this.meets(thief, task)) continue;
          this.dropHolder(task, victim);
          push(out.revoke, victim.id, task);
          this.assign(out, thief, task);
          taken++;
        }
        if (taken === 0) return;
        room -= taken;
      }
    }
  }

  /** Pages with idle threads take ready subtasks from the page with the most:
   * over WebRTC when both ends can link, else through the grid queue. */
  private stealSubtasks(out: Dispatch<P, T>): void {
    const now = this.now();
    for (const thief of this.pages.values()) {
      const room = this.room(thief, thief.threads);
      if (room <= 0 || thief.stealUntil > now) continue;
      let victim: PageSlots<P, T> | undefined;
      let most = 0;
      for (const p of this.pages.values()) {
        if (p !== thief && p.ready - p.promised > most) {
          victim = p;
          most = p.ready - p.promised;
        }
      }
      if (!victim) continue;
      const max = Math.min(room, most);
      victim.promised += max;
      if (thief.peer && victim.peer && !this.unlinkable.has(pairKey(thief.id, victim.id))) {
        out.hints.set(thief.id, { from: victim.id, max });
        thief.stealUntil = now + STEAL_WAIT_MS;
      } else {
        out.releases.set(victim.id, (out.releases.get(victim.id) ?? 0) + max);
        // Until the released tasks reach the queue (and most likely this page).
        thief.stealUntil = now + RELEASE_WAIT_MS;
      }
    }
  }

  /** Idle threads run copies of the longest-running tasks, one copy each. */
  private backup(out: Dispatch<P, T>): void {
    const now = this.now();
    let candidates: [T, number][] | undefined;
    for (const page of this.pages.values()) {
      let room = this.room(page, page.threads);
      if (room <= 0) continue;
      candidates ??= [...this.startedAt].sort((a, b) => a[1] - b[1]);
      for (const [task, since] of candidates) {
        if (room === 0) break;
        const list = this.holders.get(task);
        if (!list || list.length > 1 || list[0] === page || !this.meets(page, task)) continue;
        if (!this.backupDue(task, list[0], since, now)) continue;
        this.assign(out, page, task);
        room--;
      }
    }
  }

  /** Whether a task running on `holder` since `since` is due a backup copy:
   * after a multiple of the page's average task time (its concurrency over
   * its rate; the concurrency capped by what it holds, so that claiming
   * threads does not put backups off). A task with subtasks waits longer,
   * and longer still, up to PROGRESS_GRACE times, while its page shows
   * progress: a copy would rerun its whole tree. */
  private backupDue(task: T, holder: PageSlots<P, T>, since: number, now: number): boolean {
    const usual = holder.rate > 0 ? (1000 * Math.min(holder.threads, holder.assigned.size)) / holder.rate : 0;
    if (!this.spawned(task)) return now - since >= Math.max(BACKUP_AFTER_MS, 2 * usual);
    const wait = Math.max(this.spawnedBackupMs, SPAWNED_BACKUP_FACTOR * usual);
    return now - Math.max(since, holder.lastProgress) >= wait || now - since >= PROGRESS_GRACE * wait;
  }

  private countDone(page: PageSlots<P, T>): void {
    page.done++;
    page.windowDone++;
    const now = this.now();
    page.lastProgress = now;
    const elapsed = now - page.windowStart;
    if (elapsed < RATE_WINDOW_MS) return;
    const windowRate = (page.windowDone * 1000) / elapsed;
    page.rate = page.rate === 0 ? windowRate : 0.5 * page.rate + 0.5 * windowRate;
    page.windowStart = now;
    page.windowDone = 0;
  }

  // ---- placement by need ----

  /** Queues a task with needs in the need queue; false for a task without. */
  private queueByNeeds(task: T, first: boolean): boolean {
    if (this.needQueue.has(task)) throw new Error(`task ${task} is already scheduled`);
    const needs = this.needsOf(task);
    if (!needs || needs.length === 0) return false;
    this.needQueue.add(task, needs, first);
    return true;
  }

  /** Whether a page has everything a task needs, and may run it. */
  private meets(page: PageSlots<P, T>, task: T): boolean {
    if (this.eligible && !this.eligible(page.id, task)) return false;
    const needs = this.needsOf(task);
    if (!needs || needs.length === 0) return true;
    const met = this.needsMet.get(page.id) ?? NONE;
    return needs.every((n) => met.has(n));
  }

  /** Like fill, for tasks with needs: each page takes those it can run. */
  private fillNeeds(out: Dispatch<P, T>, capacity: (p: PageSlots<P, T>) => number): void {
    for (const page of this.pages.values()) {
      const met = this.needsMet.get(page.id);
      if (!met || met.size === 0 || page.threads === 0) continue;
      const passed: T[] = [];
      while (this.room(page, capacity(page)) > 0 && passed.length < MAX_PASSED_OVER) {
        const task = this.needQueue.take(met);
        if (task === undefined) break;
        if (this.eligible && !this.eligible(page.id, task)) passed.push(task);
        else this.assign(out, page, task);
      }
      for (const task of passed) this.needQueue.add(task, this.needsOf(task)!, true);
      if (this.needQueue.size === 0) return;
    }
  }

  private take(): T | undefined {
    return this.queue.take();
  }

  /** Takes back unstarted tasks of jobs over their share, newest first, as
   * many as the jobs below their share are due, and queues them again at the
   * front of their jobs; returns how many. */
  private rebalance(out: Dispatch<P, T>): number {
    const { due, excess } = this.queue.rebalance();
    let left = due;
    for (const page of this.pages.values()) {
      if (left === 0) break;
      if (page.assigned.size === page.started.size) continue;
      // Tasks sent this turn are not on the wire yet: they stay.
      const sending = new Set(out.send.get(page.id));
      const unstarted = [...page.assigned].filter((t) => !page.started.has(t) && !sending.has(t)).reverse();
      for (const task of unstarted) {
        if (left === 0) break;
        const job = this.queue.jobOf(task);
        const over = job === undefined ? 0 : (excess.get(job) ?? 0);
        if (over === 0 || (this.holders.get(task)?.length ?? 0) > 1) continue;
        excess.set(job!, over - 1);
        this.dropHolder(task, page);
        push(out.revoke, page.id, task);
        left--;
      }
      // Back in their original order, ahead of their jobs' other tasks.
      for (const task of [...(out.revoke.get(page.id) ?? [])].reverse()) if (!this.holders.has(task)) this.queue.requeue(task);
    }
    return due - left;
  }
}
