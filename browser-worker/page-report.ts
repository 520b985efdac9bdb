// The page's next report to the coordinator: what happened to its tasks
// since the last one, gathered as it happens. The runtime (runtime.ts) sends
// it with the rest of a turn's flush; this module decides what goes in, when
// a started task needs a flush of its own, and when a report would tell the
// coordinator nothing new.
import type { PageReport, ReleasedTask, TaskOutcome } from '../protocol/messages.ts';
import { DEFAULT_LIMITS, FRAME_OVERHEAD_BYTES, outcomeFrameBytes, taskFrameBytes, withinResultLimit, type Limits } from '../protocol/limits.ts';
import { batchesBySize } from '../protocol/frame-batches.ts';
import { addPeerReport, type PeerReport } from './peer-offload.ts';
import type { Timers } from './clock.ts';
import type { GridTaskId, SubtaskId } from './task-origin.ts';

/** The page's load, which every report states in full. */
export type PageLoad = Pick<PageReport, 'blocked' | 'ready' | 'local'>;

type Report = Omit<PageReport, keyof PageLoad>;

export class ReportOutbox {
  private out = emptyReport();
  /** Grid tasks that spawned subtasks, already reported (the coordinator needs it once). */
  private readonly spawners = new Set<GridTaskId>();
  /** Armed while started tasks wait to be reported (see started). */
  private startedTimer: number | undefined;
  /** What the last report sent said of the load and the links: the same again is no news. */
  private last = { blocked: 0, ready: 0, local: 0, links: 0 };
  private stopped = false;
  /** The coordinator's, from its welcome: a frame over `frameBytes` would close this page's connection. */
  limits: Readonly<Limits> = DEFAULT_LIMITS;

  /** `flush`: asks the runtime for a flush this turn (the report is taken then). */
  constructor(
    private readonly clock: Timers,
    private readonly flush: () => void,
  ) {}

  /** A grid task was handed to a Web Worker: it runs there (now, or after
   * the few the worker holds) and can no longer be withdrawn, so it is
   * running for the grid from here. The worker's own "started" comes after
   * a synchronous task has ended, in the same report as its result.
   *
   * It is reported within STARTED_REPORT_MS rather than at once: a short
   * task's result mostly comes first and carries the news in the same
   * report, sparing the coordinator and the SDK a frame each on every round
   * trip. A long task still shows running() a moment after it began. The
   * clock's timer keeps this prompt in a background tab. A task of a
   * function timed here (`usualMs`) as quicker than that arms no timer: the
   * timer's message to the clock's thread and its wake-ups of both threads
   * cost a lone round trip more than they could save, and the rare such task
   * that runs long shows running() with the next report, or after the
   * coordinator's next ping (see pinged) at the latest. Without `usualMs`
   * the task never ran: its outcome is in this report already. */
  started(grid: GridTaskId, usualMs = 0): void {
    this.out.started.push(grid);
    if (usualMs < STARTED_REPORT_MS || this.startedTimer !== undefined || this.stopped) return;
    this.startedTimer = this.clock.setTimeout(() => {
      this.startedTimer = undefined;
      this.flush();
    }, STARTED_REPORT_MS);
  }

  /** A heartbeat from the coordinator, every few seconds: the news of a
   * quick function's call that runs long (it armed no timer) leaves now. */
  pinged(): void {
    if (this.out.started.length > 0) this.flush();
  }

  /** A grid task's outcome. A result over the coordinator's limit fails
   * here, alone: sent, it could be too large for a frame, and the
   * coordinator would close the connection and every task of this page
   * would run again elsewhere. */
  result(grid: GridTaskId, outcome: TaskOutcome): void {
    this.spawners.delete(grid);
    this.out.results.push(withinResultLimit(outcome, this.limits));
  }

  /** A grid task's outcome went over its Web Worker's task lane: the coordinator has it. */
  answeredByLane(grid: GridTaskId): void {
    this.spawners.delete(grid);
  }

  /** A grid task started here is lost (its Web Worker ended): the coordinator retries it. */
  lost(grid: GridTaskId): void {
    this.out.lost.push(grid);
  }

  /** A grid task spawned a subtask (see PageReport.spawning). */
  spawned(grid: GridTaskId): void {
    if (this.spawners.has(grid)) return;
    this.spawners.add(grid);
    (this.out.spawning ??= []).push(grid);
  }

  /** A task the coordinator did not send finished here. */
  localDone(): void {
    this.out.localDone = (this.out.localDone ?? 0) + 1;
  }

  /** A subtask released to the grid. */
  submit(task: ReleasedTask): void {
    this.out.submit.push(task);
  }

  /** A subtask released to the grid is no longer wanted there. */
  cancel(id: SubtaskId): void {
    this.out.cancel.push(id);
  }

  /** Copies of `n` overdue lent subtasks started here. */
  copied(n: number): void {
    this.out.copied = (this.out.copied ?? 0) + n;
  }

  /** The reports to send now, with the page's load and what peers' links
   * add (see PeerOffload.flush and takeReport); none when they would tell
   * the coordinator nothing new. Usually one; more when its results and
   * subtasks are too large for one frame (see splitReport). */
  take(load: PageLoad, { links, bytes }: { links: number; bytes: number }, peers: PeerReport | undefined): PageReport[] {
    const out = this.out;
    addPeerReport(out, peers);
    if (links !== this.last.links) out.links = links;
    if (bytes > 0) out.peerBytes = bytes;
    const last = this.last;
    if (isEmpty(out) && load.blocked === last.blocked && load.ready === last.ready && load.local === last.local) return [];
    this.last = { ...load, links };
    this.out = emptyReport();
    return splitReport({ ...out, ...load }, this.limits.frameBytes - FRAME_OVERHEAD_BYTES);
  }

  /** The page left the coordinator, which requeues whatever it held: nothing
   * gathered so far is news any more. */
  clear(): void {
    this.spawners.clear();
    this.out = emptyReport();
  }

  /** The clock stops with the page: no timer is armed any more. */
  stop(): void {
    this.stopped = true;
  }
}

/** `report` as frames of at most `budget` bytes of results and subtasks
 * each: the first carries everything else, the rest only results and
 * subtasks (and the load, which every report states). Each result and
 * subtask is within the coordinator's limits, so each fits a frame alone. */
export function splitReport(report: PageReport, budget: number): PageReport[] {
  // Every report passes here, once per round trip: the usual one that fits costs a sum, no copies.
  let total = 0;
  for (const r of report.results) total += outcomeFrameBytes(r);
  for (const t of report.submit) total += taskFrameBytes(t);
  if (total <= budget) return [report];
  const items: ({ result: TaskOutcome } | { submit: ReleasedTask })[] = [...report.results.map((result) => ({ result })), ...report.submit.map((submit) => ({ submit }))];
  const size = (item: (typeof items)[number]) => ('result' in item ? outcomeFrameBytes(item.result) : taskFrameBytes(item.submit));
  return batchesBySize(items, size, budget, Infinity).map((batch, i) => ({
    ...(i === 0 ? report : { t: 'report', started: [], lost: [], cancel: [], blocked: report.blocked, ready: report.ready, local: report.local }),
    results: batch.flatMap((item) => ('result' in item ? [item.result] : [])),
    submit: batch.flatMap((item) => ('submit' in item ? [item.submit] : [])),
  }));
}

/** How long the report of a started task may wait for its result (see started). */
const STARTED_REPORT_MS = 2;

function emptyReport(): Report {
  return { t: 'report', started: [], results: [], lost: [], submit: [], cancel: [] };
}

function isEmpty(r: Report): boolean {
  return (
    r.started.length + r.results.length + r.lost.length + r.submit.length + r.cancel.length === 0 &&
    r.spawning === undefined &&
    r.offload === undefined &&
    r.returned === undefined &&
    r.stole === undefined &&
    r.links === undefined &&
    r.peerBytes === undefined &&
    r.localDone === undefined &&
    r.copied === undefined &&
    r.refused === undefined
  );
}
