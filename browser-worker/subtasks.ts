// The subtasks this page's tasks spawned, from spawn to outcome. New ones
// wait here (for locality) and run in this page's Web Workers until the
// coordinator says otherwise: an idle page steals some over WebRTC, or this
// page releases some to the grid queue. Wherever one runs, its outcome goes
// back to the Web Worker that spawned it. The runtime (runtime.ts, with
// placement.ts) places runs in Web Workers and carries messages; this class
// decides where each subtask is and what becomes of it.
import type { ReleasedTask, RemoteErrorInfo, TaskOutcome, TaskRef, TaskSpec } from '../protocol/messages.ts';
import type { Need } from '../protocol/needs.ts';
import type { PeerLink } from './peer-offload.ts';
import type { Slot } from './worker-pool.ts';
import { fnKey } from './durations.ts';
import type { RunId, SubtaskId, SubtaskSpec } from './task-origin.ts';

/** Where a subtask is. */
export type Where =
  /** Waiting here for a Web Worker (or a thief). */
  | { kind: 'ready' }
  /** Running in a Web Worker here as `run`. */
  | { kind: 'here'; run: RunId }
  /** Released to the coordinator's grid queue. */
  | { kind: 'grid' }
  /** Held by the peer at the other end of `link` since `since` (ms); a copy
   * may also run here as `copy` when the peer is slow to answer (see copyOverdue). */
  | { kind: 'lent'; link: PeerLink; since: number; copy?: RunId };

/** A subtask spawned on this page, wherever it runs. */
export interface Subtask {
  readonly id: SubtaskId;
  /** As handed on: this page's id, the scope of its tree, the submitter's options. */
  readonly spec: SubtaskSpec;
  /** The Web Worker that spawned it, and that worker's id for it. */
  readonly slot: Slot;
  readonly local: number;
  at: Where;
  /** Peers lost while holding it. */
  attempts: number;
  /** The task running here it descends from, as the coordinator knows it:
   * released to the grid or lent, it goes under that task's tree. */
  readonly under: TaskRef;
}

/** What the subtasks need from the rest of the page. */
export interface SubtaskHost {
  /** A subtask's outcome, for the Web Worker that spawned it. */
  answered(sub: Subtask, outcome: TaskOutcome): void;
  /** Hands a subtask to the grid queue (through the coordinator). */
  toGrid(task: ReleasedTask): void;
  /** Whether the coordinator takes a subtask of this spec: one whose
   * arguments are over its task limit stays here and runs here. */
  fitsGrid(spec: TaskSpec): boolean;
  /** A subtask released to the grid is no longer wanted there. */
  cancelAtGrid(id: SubtaskId): void;
  /** A subtask lent over `link` is no longer wanted from that peer. */
  withdrawFromPeer(link: PeerLink, id: SubtaskId): void;
  /** A fresh id for a run in a Web Worker here. */
  newRun(): RunId;
  /** About how long a task of this spec takes here, in ms (pessimistic until timed). */
  usualMs(spec: TaskSpec): number;
}

export class Subtasks {
  private nextId = 1;
  /** Not settled, by id. */
  private readonly routes = new Map<SubtaskId, Subtask>();
  /** Of those, the ones waiting to start: new ones run here first (last in,
   * first out, which keeps a deep tree's memory small); thieves take the
   * oldest, which are the biggest pieces of work. */
  private ready: Subtask[] = [];
  /** Subtasks lent to peers, oldest first. */
  private readonly lent = new Set<Subtask>();
  /** Runs here (a subtask's, or a copy of a lent one's), by run id. */
  private readonly runs = new Map<RunId, Subtask>();
  /** Functions (bundle:fn) seen spawning subtasks here: their lent tasks are never copied. */
  private readonly spawners = new Set<string>();

  constructor(private readonly host: SubtaskHost) {}

  /** Subtasks waiting here to start. */
  get waiting(): number {
    return this.ready.length;
  }

  /** Runs of subtasks in Web Workers here. */
  get running(): number {
    return this.runs.size;
  }

  get anyLent(): boolean {
    return this.lent.size > 0;
  }

  /** A subtask not settled. */
  get(id: SubtaskId): Subtask | undefined {
    return this.routes.get(id);
  }

  /** The subtask a run here is of, until the run is withdrawn. */
  ofRun(run: RunId): Subtask | undefined {
    return this.runs.get(run);
  }

  /** A subtask spawned by a task of function `parentKey` (when known) on a Web
   * Worker serving `scope`, as `asked`: it waits here to run. */
  add(asked: TaskSpec, at: { slot: Slot; scope?: string; under: TaskRef; parentKey?: string }): Subtask {
    const id = this.nextId++ as SubtaskId;
    if (at.parentKey !== undefined) this.spawners.add(at.parentKey);
    const spec: SubtaskSpec = { id, bundle: asked.bundle, fn: asked.fn, args: asked.args, scope: at.scope, ...(asked.needs ? { needs: asked.needs } : {}) };
    if (asked.timeout !== undefined) spec.timeout = asked.timeout;
    if (asked.attempts !== undefined) spec.attempts = asked.attempts;
    if (asked.chunk) spec.chunk = true;
    if (asked.verify !== undefined) spec.verify = asked.verify;
    const sub: Subtask = { id, spec, slot: at.slot, local: asked.id, at: { kind: 'ready' }, attempts: 0, under: at.under };
    this.routes.set(id, sub);
    this.ready.push(sub);
    return sub;
  }

  /** Runs ready subtasks here, newest first, while `place` finds a Web Worker
   * for them. */
  runReady(place: (task: TaskSpec) => boolean): void {
    for (let i = this.ready.length - 1; i >= 0; i--) {
      const sub = this.ready[i];
      const run = this.host.newRun();
      // Siblings mostly share their function and scope: when one finds no room, neither will the rest.
      if (!place({ ...sub.spec, id: run })) break;
      sub.at = { kind: 'here', run };
      this.runs.set(run, sub);
      this.ready.splice(i, 1);
    }
  }

  /** With nothing else to run, a Web Worker runs a copy of a subtask a peer
   * has held for more than twice its usual time here (and at least
   * COPY_AFTER_MS), so that a frozen tab or a page that never answers does
   * not stall the tree until the coordinator gives up on it. The first
   * outcome wins. As with the coordinator's straggler backups, tasks are
   * assumed pure, and a task that spawns subtasks is never copied (a copy
   * would be a whole second tree). Returns how many copies started. */
  copyOverdue(now: number, place: (task: TaskSpec) => boolean): number {
    let copied = 0;
    for (const sub of this.lent) {
      if (sub.at.kind !== 'lent') continue;
      if (this.copyRunning(sub) || this.spawners.has(fnKey(sub.spec))) continue;
      if (now - sub.at.since < Math.max(COPY_AFTER_MS, 2 * this.host.usualMs(sub.spec))) continue;
      const run = this.host.newRun();
      if (!place({ ...sub.spec, id: run })) break;
      sub.at.copy = run;
      this.runs.set(run, sub);
      copied++;
    }
    return copied;
  }

  private copyRunning(sub: Subtask): boolean {
    return sub.at.kind === 'lent' && sub.at.copy !== undefined && this.runs.has(sub.at.copy);
  }

  /** Lends up to `max` (or more, for tiny tasks) of the oldest ready
   * subtasks to the peer at `link`, among those whose needs are all in
   * `has`. Verified subtasks never go to a single peer: when they are what
   * the thief could have had, they go to the grid (which verifies them, and
   * feeds the idle thief) rather than leave it idle. */
  lend(link: PeerLink, max: number, has: readonly Need[], now: number, fits: (spec: SubtaskSpec) => boolean = () => true): readonly Subtask[] {
    const subs = this.handOver(max, has, fits);
    for (const sub of subs) {
      sub.at = { kind: 'lent', link, since: now };
      this.lent.add(sub);
    }
    if (subs.length < max) this.releaseVerified(max - subs.length);
    return subs;
  }

  /** Hands ready subtasks to the grid queue, as the coordinator asks (see handOver). */
  release(max: number): void {
    for (const sub of this.handOver(max)) this.toGrid(sub);
  }

  /** The ready subtasks that leave when `max` are asked for: the oldest,
   * which are the biggest pieces of a tree. Small ones leave several to a
   * thread, about HAND_OVER_MS of work (at most half of those ready): a
   * round trip each would cost the thief more idle time than it saves. */
  private handOver(max: number, has?: readonly Need[], fits?: (spec: SubtaskSpec) => boolean): Subtask[] {
    const oldest = this.ready[0];
    if (!oldest) return [];
    const ms = this.host.usualMs(oldest.spec);
    const enough = Math.floor(HAND_OVER_MS / Math.max(ms, 0.1));
    const count = Math.max(max, Math.min(enough * max, Math.floor(this.ready.length / 2)));
    // The grid gets only subtasks the coordinator takes. A peer gets only
    // subtasks it meets every need of (a page without a GPU never takes a GPU
    // subtask), and never a verified one: one peer's word on it would go
    // unchecked (it goes to the grid, where it is verified).
    const goes = has
      ? (sub: Subtask) => sub.spec.verify === undefined && (sub.spec.needs ?? []).every((n) => has.includes(n)) && (fits?.(sub.spec) ?? true)
      : (sub: Subtask) => this.host.fitsGrid(sub.spec);
    const given: Subtask[] = [];
    this.ready = this.ready.filter((sub) => {
      if (given.length >= count || !goes(sub)) return true;
      given.push(sub);
      return false;
    });
    return given;
  }

  private toGrid(sub: Subtask): void {
    sub.at = { kind: 'grid' };
    this.host.toGrid({ ...sub.spec, under: sub.under });
  }

  /** Hands up to `max` ready verified subtasks to the grid, oldest first. */
  private releaseVerified(max: number): void {
    let released = 0;
    this.ready = this.ready.filter((sub) => {
      if (released >= max || sub.spec.verify === undefined || !this.host.fitsGrid(sub.spec)) return true;
      this.toGrid(sub);
      released++;
      return false;
    });
  }

  /** The outcome of a run here. */
  finished(run: RunId, outcome: TaskOutcome): void {
    const sub = this.runs.get(run);
    if (!sub) return; // withdrawn while it ran
    this.runs.delete(run);
    // A copy answered first: the peer may stop.
    if (sub.at.kind === 'lent' && this.routes.get(sub.id) === sub) this.host.withdrawFromPeer(sub.at.link, sub.id);
    this.answer(sub, { ...outcome, id: sub.id });
  }

  /** An outcome from the grid, for a subtask released there. */
  fromGrid(outcome: TaskOutcome): void {
    const sub = this.routes.get(outcome.id as SubtaskId);
    if (sub?.at.kind === 'grid') this.answer(sub, outcome);
  }

  /** The outcome of a subtask lent to the peer at `link`. */
  returned(link: PeerLink, id: SubtaskId, outcome: TaskOutcome): void {
    const sub = this.routes.get(id);
    if (sub?.at.kind === 'lent' && sub.at.link === link) this.answer(sub, outcome);
  }

  /** Subtasks lent to a peer that is gone: they run again (or fail). */
  reclaim(link: PeerLink, ids: readonly SubtaskId[]): void {
    for (const id of ids) {
      const sub = this.routes.get(id);
      if (sub?.at.kind === 'lent' && sub.at.link === link) this.lost(sub);
    }
  }

  /** A subtask whose peer left while holding it runs again, here or
   * elsewhere, until it has lost as many peers as it has attempts. */
  private lost(sub: Subtask): void {
    this.lent.delete(sub);
    if (sub.at.kind === 'lent' && sub.at.copy !== undefined && this.runs.has(sub.at.copy)) {
      // A copy is running here already: it is the run now.
      sub.at = { kind: 'here', run: sub.at.copy };
      return;
    }
    sub.attempts++;
    if (sub.attempts >= (sub.spec.attempts ?? DEFAULT_ATTEMPTS)) {
      this.answer(sub, {
        id: sub.id,
        ok: false,
        kind: 'lost',
        error: { name: 'TaskLostError', message: `task ${sub.spec.fn} was lost ${sub.attempts} times (the peers running it left); giving up` },
      });
    } else {
      sub.at = { kind: 'ready' };
      this.ready.unshift(sub);
    }
  }

  /** A run here goes back to wait for a Web Worker (its worker was replaced
   * because of another task). */
  requeue(run: RunId): void {
    const sub = this.runs.get(run);
    if (!sub) return;
    this.runs.delete(run);
    // A copy is just dropped: the peer still holds the subtask.
    if (sub.at.kind === 'lent') return;
    sub.at = { kind: 'ready' };
    this.ready.push(sub);
  }

  /** A run here whose Web Worker was ended with its scope: nothing comes of it. */
  forgetRun(run: RunId): void {
    this.runs.delete(run);
  }

  /** Ready subtasks of a bundle whose code could not be loaded fail with `error`. */
  failBundle(hash: string, error: RemoteErrorInfo): void {
    const failed = this.ready.filter((sub) => sub.spec.bundle === hash);
    this.ready = this.ready.filter((sub) => sub.spec.bundle !== hash);
    for (const sub of failed) this.answer(sub, { id: sub.id, ok: false, error });
  }

  /** A subtask is no longer wanted (its parent finished, or its worker went):
   * stop it wherever it is. One already running here runs on; its outcome is dropped. */
  withdraw(id: SubtaskId): void {
    const sub = this.routes.get(id);
    if (!sub) return;
    this.routes.delete(id);
    const at = sub.at;
    switch (at.kind) {
      case 'ready':
        // Withdrawn subtasks are mostly the newest (siblings of a finished parent): search from the end.
        this.ready.splice(this.ready.lastIndexOf(sub), 1);
        break;
      case 'here':
        this.runs.delete(at.run);
        break;
      case 'grid':
        this.host.cancelAtGrid(id);
        break;
      case 'lent':
        this.host.withdrawFromPeer(at.link, id);
        this.lent.delete(sub);
        if (at.copy !== undefined) this.runs.delete(at.copy);
        break;
    }
  }

  /** Gives a subtask's outcome to the Web Worker that spawned it. */
  private answer(sub: Subtask, outcome: TaskOutcome): void {
    if (this.routes.get(sub.id) !== sub) return;
    this.routes.delete(sub.id);
    this.lent.delete(sub);
    // A copy still running here (the peer answered first) is not wanted.
    if (sub.at.kind === 'here') this.runs.delete(sub.at.run);
    else if (sub.at.kind === 'lent' && sub.at.copy !== undefined) this.runs.delete(sub.at.copy);
    this.host.answered(sub, outcome);
  }

  /** The connection to the coordinator was lost: it requeues what this page
   * held, so nothing here is awaited any more. */
  clear(): void {
    this.routes.clear();
    this.ready = [];
    this.lent.clear();
    this.runs.clear();
  }
}

/** A lent subtask is copied no sooner than this (see copyOverdue). */
export const COPY_AFTER_MS = 1000;

/** About how much work leaves in one hand-over of tiny subtasks, per thread asked for. */
const HAND_OVER_MS = 200;

/** Peers lost while holding a subtask before it fails (as the coordinator's default). */
const DEFAULT_ATTEMPTS = 3;
