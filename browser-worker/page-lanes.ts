// A page's side of its Web Workers' task lanes (see LaneHello in
// protocol/messages.ts and task-lane.ts): the keys the coordinator granted
// it, one per client, and the records of the lane tasks it hears of. It
// takes a lane task's existence only from the coordinator (`laned`), never
// from a worker: a task's code could claim another client's task.
import type { TaskSpec } from '../protocol/messages.ts';
import type { ReportOutbox } from './page-report.ts';
import { gridTaskOf, type RunId } from './task-origin.ts';
import type { LaneGrant, Slot, WorkerPool } from './worker-pool.ts';

export class PageLanes {
  /** Lane keys, by client (scope). */
  private readonly keys = new Map<string, string>();

  constructor(
    private readonly pool: WorkerPool,
    private readonly report: ReportOutbox,
    /** The coordinator's WebSocket URL, which lanes open too. */
    private readonly url: string,
  ) {}

  /** How a worker serving `scope` opens its lane; undefined before the key came. */
  grant(scope: string): LaneGrant | undefined {
    const key = this.keys.get(scope);
    return key === undefined ? undefined : { url: this.url, key, limits: this.report.limits };
  }

  /** The key for `scope` came: its workers open their lanes. */
  granted(scope: string, key: string): void {
    this.keys.set(scope, key);
    this.pool.openLanes(scope);
  }

  /** A client left (or the coordinator did: every client). */
  forget(scope?: string): void {
    if (scope === undefined) this.keys.clear();
    else this.keys.delete(scope);
  }

  /** Tasks the coordinator sent a Web Worker over its lane and says the
   * page must know of: it keeps their records as if it had placed them
   * there (cancels, subtasks, the worker's load, losses), and the worker may
   * now hand it their subtasks. False when the worker is gone: those tasks
   * are reported lost, and the report must go out. */
  laned(nonce: string, tasks: TaskSpec[]): boolean {
    const slot = this.pool.byNonce(nonce);
    const heard: number[] = [];
    for (const task of tasks) {
      const grid = gridTaskOf(task.id as RunId);
      if (grid === undefined) continue;
      // Its worker was replaced meanwhile: the coordinator runs it again.
      if (!slot) this.report.lost(grid);
      else if (!slot.laneAnswered.delete(task.id)) {
        slot.tasks.set(task.id, task);
        slot.started.add(task.id);
        heard.push(task.id);
      }
    }
    if (slot && heard.length > 0) this.pool.tell(slot, { t: 'laned', ids: heard });
    return slot !== undefined;
  }

  /** A lane closed before answering these: an outcome still to come goes out
   * from the page; a task no worker here runs is lost. */
  closed(nonce: string, ids: number[]): void {
    const slot = this.pool.byNonce(nonce);
    for (const id of ids) {
      const grid = gridTaskOf(id as RunId);
      if (grid === undefined) continue;
      if (slot?.tasks.has(id)) slot.laneUnanswered.add(id);
      else this.report.lost(grid);
    }
  }

  /** Whether a worker's outcome of a task the page holds is the
   * coordinator's already: its lane carried it (`carried`), and did not close first. */
  answered(slot: Slot, id: number, carried: boolean): boolean {
    return !slot.laneUnanswered.delete(id) && carried;
  }

  /** A lane's outcome of a task the page never heard of (most lane tasks):
   * remembered for the coordinator's word of it that may still come. */
  answeredUnheard(slot: Slot, id: number): void {
    slot.laneAnswered.add(id);
    if (slot.laneAnswered.size > MAX_LANE_ANSWERED) slot.laneAnswered.delete(slot.laneAnswered.values().next().value as number);
  }
}

/** Lane outcomes of a Web Worker remembered for the coordinator's word of
 * them (see laned): it comes within milliseconds, and a lane carries one task
 * at a time; a worker's forged reports cannot grow the set past this. */
const MAX_LANE_ANSWERED = 64;
