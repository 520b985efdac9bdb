// Where a task run on this page came from, and the ids each place knows it
// by. Its outcome goes back there: a grid task's to the coordinator, an own
// subtask's to the Web Worker that spawned it, a peer's task's to that peer.
import type { TaskOutcome, TaskSpec } from '../protocol/messages.ts';
import type { Subtask } from './subtasks.ts';

declare const brand: unique symbol;
type Brand<T, Name extends string> = T & { readonly [brand]: Name };

/** The coordinator's id for a task it sent this page. */
export type GridTaskId = Brand<number, 'GridTaskId'>;
/** This page's id for a subtask it spawned: the coordinator and peers know
 * it by this id once it is released or lent. */
export type SubtaskId = Brand<number, 'SubtaskId'>;
/** A subtask as it leaves this page (to the grid or a peer), under its id. */
export type SubtaskSpec = TaskSpec & { id: SubtaskId };
/** A peer's id for a task it lent this page. */
export type PeerTaskId = Brand<number, 'PeerTaskId'>;
/** What a Web Worker here knows a task by. */
export type RunId = Brand<number, 'RunId'>;

/** Whether a run id is a grid task's. A grid task runs under the
 * coordinator's id, so that the coordinator's `cancel` and the Web Worker's
 * reports name it alike; every other run here gets a negative id (see
 * localRuns). This is the one place the sign is read. */
export function isGridRun(run: RunId): boolean {
  return run > 0;
}

/** The grid task a run id names, or undefined for a run of another origin. */
export function gridTaskOf(run: RunId): GridTaskId | undefined {
  return isGridRun(run) ? (run as number as GridTaskId) : undefined;
}

/** Hands out run ids for the tasks here that the coordinator did not send. */
export function localRuns(): () => RunId {
  let next = 1;
  return () => -next++ as RunId;
}

/** Where a task running here came from. */
export type Origin =
  | { kind: 'grid'; id: GridTaskId }
  | { kind: 'own'; sub: Subtask }
  /** Taken from peer `from` (its worker id) over WebRTC; `done` sends the outcome back. */
  | { kind: 'peer'; from: string; id: PeerTaskId; done: (outcome: TaskOutcome) => void };

/** The runs here that did not come from the grid. */
export type LocalOrigin = Exclude<Origin, { kind: 'grid' }>;
