// This page's side of WebRTC offloading: its links to other pages, the
// subtasks it lent to them and the tasks it took from them. The runtime
// (runtime.ts) owns the queues and the Web Workers; this module moves tasks
// and outcomes over the links, lends and takes back subtasks through the
// subtask bookkeeping (subtasks.ts), and tells the runtime what arrived
// through the narrow OffloadHost below.
//
// Every offload and every return is reported to the coordinator, the
// record of truth: this module gathers those parts of the page's report and
// the runtime takes them into each report it sends (takeReport). When a page
// leaves, the coordinator tells both sides (`peerGone`).
import type { Need } from '../protocol/needs.ts';
import type { PageReport, PeerConfig, PeerMessage, TaskOutcome, TaskRef, TaskSpec } from '../protocol/messages.ts';
// Loaded when first needed (below): a page without WebRTC never runs
// peerjs's browser shims, which would otherwise bring back a removed
// RTCPeerConnection from webkitRTCPeerConnection.
import type { PeerNetwork, PeerLink } from './peer-links.ts';
import type { Timers } from './clock.ts';
import { FRAME_OVERHEAD_BYTES, PEER_MESSAGE_BYTES, outcomeFrameBytes, taskFrameBytes, withinResultLimit } from '../protocol/limits.ts';
import { batchesBySize } from '../protocol/frame-batches.ts';
import type { SharedConstants } from './shared-constants.ts';
import type { PeerTaskId, RunId, SubtaskId, SubtaskSpec } from './task-origin.ts';

export type { PeerLink };

/** WebRTC offloading as this page sees it. */
export interface PeerStatus {
  /** off: the coordinator has it off; unavailable: this browser has no WebRTC
   * or the PeerServer cannot be reached (subtasks go through the coordinator). */
  state: 'off' | 'connecting' | 'open' | 'unavailable';
  /** Open links to other pages. */
  links: number;
  /** Subtasks of this page that peers took. */
  given: number;
  /** Tasks this page took from peers. */
  taken: number;
  /** Lent subtasks this page also ran, the peer being slow to answer. */
  copied: number;
  /** Steals from peers the coordinator had not sent, answered with nothing. */
  refused: number;
  bytesSent: number;
}

/** The parts of a report to the coordinator that tell of peers. */
export type PeerReport = Pick<PageReport, 'offload' | 'returned' | 'stole' | 'refused'>;

/** Adds the peer parts `from` to the report `into` (after what it already says). */
export function addPeerReport(into: PeerReport, from: PeerReport | undefined): void {
  if (!from) return;
  if (from.offload) (into.offload ??= []).push(...from.offload);
  if (from.returned) (into.returned ??= []).push(...from.returned);
  if (from.stole) (into.stole ??= []).push(...from.stole);
  if (from.refused) into.refused = (into.refused ?? 0) + from.refused;
}

/** A subtask as lent: what goes to the peer, and the task here it descends
 * from (the peer's own subtasks of it may go to the grid under that task). */
export interface LentSubtask {
  readonly spec: SubtaskSpec;
  readonly under: TaskRef;
}

/** The subtask bookkeeping (subtasks.ts), as offloading uses it. */
export interface LendingSubtasks {
  /** Hands over up to `max` (or more, for tiny tasks) of the oldest ready
   * subtasks, now held by `link` since `now`, among those whose needs are all
   * in `has`; `fits`, asked of each in turn, says whether it still fits the message. */
  lend(link: PeerLink, max: number, has: readonly Need[], now: number, fits?: (spec: SubtaskSpec) => boolean): readonly LentSubtask[];
  /** The outcome of a subtask lent to `link`. */
  returned(link: PeerLink, id: SubtaskId, outcome: TaskOutcome): void;
  /** Subtasks lent to a peer that is gone: they run again (or fail). */
  reclaim(link: PeerLink, ids: readonly SubtaskId[]): void;
}

/** What the runtime does for offloading: the queue of peers' tasks, and the
 * pump, flush and status that follow any change. */
export interface OffloadHost {
  /** Queues a task of peer `from` to run here; `done` gets its outcome. Returns its run id. */
  run(task: TaskSpec, from: string, done: (outcome: TaskOutcome) => void): RunId;
  /** Tasks queued by `run` that are no longer wanted. */
  drop(runIds: Iterable<RunId>): void;
  /** Something changed (tasks came or went, the report or the status did):
   * pump, flush and show status. `registered` is given when the PeerServer
   * took this page's registration (true) or dropped it (false): the
   * coordinator hears of it at once. */
  changed(registered?: boolean): void;
}

/** What this page keeps about one link. */
interface LinkState {
  /** Own subtasks the peer holds. */
  given: Set<SubtaskId>;
  /** Tasks taken from the peer: its id -> the run id here. */
  taken: Map<PeerTaskId, RunId>;
  /** Constants sent on this link: scope -> how many. */
  sharedSent: Map<string, number>;
  /** A steal sent on it and not answered. */
  stealing: boolean;
  /** A steal received on it before the coordinator's word (`lend`) came:
   * how many it asked for, and the timer that refuses it. */
  asked?: { max: number; timer: number };
  /** Outcomes to send back at the next flush. */
  results: TaskOutcome[];
}

export class PeerOffload {
  readonly status: PeerStatus = { state: 'off', links: 0, given: 0, taken: 0, copied: 0, refused: 0, bytesSent: 0 };
  private network?: PeerNetwork;
  private readonly links = new Map<PeerLink, LinkState>();
  /** Steals the coordinator announced: the thief's worker id -> how many
   * subtasks, and until when the word holds. */
  private readonly grants = new Map<string, { max: number; until: number; has: readonly Need[] }>();
  /** Bumped on every open and close, so a late peerjs import for an old
   * connection to the coordinator does nothing. */
  private generation = 0;
  /** The report gathered since the runtime last took it (see takeReport). */
  private report: PeerReport = {};

  /** `constants`: those a lent subtask's scope needs go with it, and those
   * a peer sends along with its tasks are kept there. */
  constructor(
    private readonly host: OffloadHost,
    private readonly subtasks: LendingSubtasks,
    private readonly constants: SharedConstants,
    private readonly clock: Timers,
    /** The largest message a peer accepts (PEER_MESSAGE_BYTES; smaller in tests). */
    private readonly messageBytes = PEER_MESSAGE_BYTES,
  ) {}

  /** Registers with the coordinator's PeerServer (at the origin of `url`,
   * the coordinator's) under this page's worker id; without a config the
   * coordinator has offloading off. */
  open(workerId: string, config: PeerConfig | undefined, url: string): void {
    this.closeLinks();
    const generation = this.generation;
    if (!config) {
      this.status.state = 'off';
      return;
    }
    if (typeof RTCPeerConnection !== 'function') {
      // Subtasks still leave this page, through the coordinator.
      this.status.state = 'unavailable';
      return;
    }
    this.status.state = 'connecting';
    import('./peer-links.ts').then(
      ({ PeerNetwork }) => {
        if (this.generation !== generation) return;
        const network: PeerNetwork = new PeerNetwork(
          workerId,
          config,
          url,
          {
            onRegistered: (open) => {
              if (this.network !== network) return;
              this.status.state = open ? 'open' : 'unavailable';
              this.host.changed(open);
            },
            onMessage: (link, msg) => this.onMessage(link, msg),
            onClosed: (link) => this.onClosed(link),
          },
          this.clock,
        );
        this.network = network;
      },
      (e: Error) => {
        if (this.generation !== generation) return;
        console.error(`ladle: WebRTC offloading could not start: ${e.message}`);
        this.status.state = 'unavailable';
        this.host.changed();
      },
    );
  }

  /** This page left the coordinator (or stopped): every link closes, and
   * what they carried and the report not yet taken are forgotten, as the
   * coordinator requeues and reclaims all of it (the runtime drops the rest
   * of its report too). */
  close(): void {
    this.closeLinks();
    this.report = {};
  }

  /** The peer parts of the next report to the coordinator, gathered since
   * the last take; undefined when there is nothing new. */
  takeReport(): PeerReport | undefined {
    const report = this.report;
    if (Object.keys(report).length === 0) return undefined;
    this.report = {};
    return report;
  }

  private closeLinks(): void {
    this.generation++;
    const network = this.network;
    this.network = undefined;
    network?.destroy();
    this.links.clear();
    this.grants.clear();
    this.status.links = 0;
  }

  /** The coordinator says this page is idle and `from` has ready subtasks. */
  steal(from: string, max: number): void {
    const answer = (got: number, linked: boolean) => {
      (this.report.stole ??= []).push({ from, got, linked });
      this.host.changed();
    };
    const network = this.network;
    if (!network) return answer(0, false);
    network.link(from).then(
      (link) => {
        if (this.network !== network || !link.open) return answer(0, true);
        this.state(link).stealing = true;
        link.send({ t: 'steal', max });
      },
      (e: Error) => {
        if (this.network !== network) return;
        console.warn(`ladle: ${e.message}; subtasks go through the coordinator instead`);
        answer(0, false);
      },
    );
  }

  /** The coordinator sent page `to` to steal up to `max` of this page's
   * ready subtasks: answer its steal, now if it has already asked. A page
   * that did not say what it has meets no need. */
  grant(to: string, max: number, has: readonly Need[] = []): void {
    this.grants.set(to, { max, until: performance.now() + GRANT_MS, has });
    for (const [link, state] of this.links) {
      if (link.peer !== to || !state.asked) continue;
      this.clock.clearTimeout(state.asked.timer);
      const asked = state.asked.max;
      state.asked = undefined;
      this.answerSteal(link, state, asked);
      this.host.changed();
    }
  }

  /** A client left: no link has sent its constants any more. */
  unshare(scope: string): void {
    for (const state of this.links.values()) state.sharedSent.delete(scope);
  }

  /** The coordinator says `peer` left: its link goes, with what it carried. */
  peerGone(peer: string): void {
    this.network?.drop(peer);
  }

  /** A lent subtask is no longer wanted: the peer may stop it. */
  withdraw(link: PeerLink, id: SubtaskId): void {
    link.send({ t: 'cancel', ids: [id] });
    this.links.get(link)?.given.delete(id);
    (this.report.returned ??= []).push(id);
  }

  /** Sends the outcomes gathered for each peer; returns what the next report
   * to the coordinator should say of the links. */
  flush(): { links: number; bytes: number } {
    for (const [link, state] of this.links) {
      if (state.results.length === 0) continue;
      for (const results of resultMessages(state.results, this.messageBytes)) link.send({ t: 'results', results });
      state.results = [];
    }
    const bytes = this.network?.takeBytesSent() ?? 0;
    this.status.bytesSent += bytes;
    return { links: this.network?.outgoingLinks ?? 0, bytes };
  }

  private state(link: PeerLink): LinkState {
    let state = this.links.get(link);
    if (!state) {
      this.links.set(link, (state = { given: new Set(), taken: new Map(), sharedSent: new Map(), stealing: false, results: [] }));
      this.status.links = this.peerCount();
    }
    return state;
  }

  /** Pages linked: two tabs that dial each other at the same moment hold two
   * links, and are still one other tab to the volunteer. */
  private peerCount(): number {
    return new Set([...this.links.keys()].map((l) => l.peer)).size;
  }

  /** A message from a linked peer (validated by the network). */
  onMessage(link: PeerLink, msg: PeerMessage): void {
    const state = this.state(link);
    switch (msg.t) {
      case 'steal':
        if (state.asked) this.clock.clearTimeout(state.asked.timer);
        state.asked = undefined;
        if (this.grants.has(link.peer)) {
          this.answerSteal(link, state, msg.max);
        } else {
          // Normally the coordinator's word comes first; wait a little for it,
          // then refuse: a page the coordinator did not send takes nothing.
          const timer = this.clock.setTimeout(() => {
            if (this.links.get(link) !== state || state.asked?.timer !== timer) return;
            state.asked = undefined;
            this.answerSteal(link, state, msg.max); // no word came: refused
            this.host.changed();
          }, GRANT_WAIT_MS);
          state.asked = { max: msg.max, timer };
        }
        break;
      case 'tasks': {
        // Only in answer to a steal: a peer cannot push work here unasked.
        if (!state.stealing) return;
        state.stealing = false;
        for (const [scope, values] of Object.entries(msg.shared ?? {})) this.constants.add(scope, values);
        for (const spec of msg.tasks) {
          const id = spec.id as PeerTaskId;
          if (state.taken.has(id)) continue;
          const runId = this.host.run(spec, link.peer, (outcome) => {
            if (this.links.get(link) !== state || !state.taken.delete(id)) return;
            state.results.push({ ...outcome, id });
          });
          state.taken.set(id, runId);
        }
        this.status.taken += msg.tasks.length;
        (this.report.stole ??= []).push({ from: link.peer, got: msg.tasks.length, linked: true });
        break;
      }
      case 'results':
        for (const outcome of msg.results) {
          // Only ids this page lent on this link are its subtasks' ids.
          const id = outcome.id as SubtaskId;
          if (!state.given.delete(id)) continue;
          (this.report.returned ??= []).push(id);
          this.subtasks.returned(link, id, outcome);
        }
        break;
      case 'cancel': {
        const runIds: RunId[] = [];
        for (const id of msg.ids as PeerTaskId[]) {
          const runId = state.taken.get(id);
          if (runId === undefined) continue;
          state.taken.delete(id);
          runIds.push(runId);
        }
        this.host.drop(runIds);
        break;
      }
    }
    this.host.changed();
  }

  /** Answers a steal within what the coordinator announced; without its
   * word (or once the word has expired), with nothing. */
  private answerSteal(link: PeerLink, state: LinkState, asked: number): void {
    const grant = this.grants.get(link.peer);
    this.grants.delete(link.peer);
    const max = grant && grant.until >= performance.now() ? Math.min(asked, grant.max) : 0;
    if (max > 0) {
      this.lend(link, state, max, grant!.has);
      return;
    }
    this.status.refused++;
    this.report.refused = (this.report.refused ?? 0) + 1;
    link.send({ t: 'tasks', tasks: [] });
  }

  /** Answers a peer's steal with ready subtasks and the constants their
   * scopes need that this link has not carried yet. */
  private lend(link: PeerLink, state: LinkState, max: number, has: readonly Need[]): void {
    // The answer is one message: subtasks go while their arguments, and the
    // constants of each new scope, fit in it; the rest wait for the next steal.
    const budget = this.messageBytes - FRAME_OVERHEAD_BYTES;
    let bytes = 0;
    const scopes = new Set<string>();
    const fits = (spec: SubtaskSpec) => {
      const scope = spec.scope!;
      const n = taskFrameBytes(spec) + (scopes.has(scope) ? 0 : this.unsentConstantBytes(state, scope));
      if (bytes + n > budget) return false;
      bytes += n;
      scopes.add(scope);
      return true;
    };
    const lent = this.subtasks.lend(link, max, has, performance.now(), fits);
    const shared: Record<string, Record<string, Uint8Array>> = {};
    for (const { spec } of lent) {
      state.given.add(spec.id);
      const scope = spec.scope!;
      const names = this.constants.get(scope);
      if (names && (state.sharedSent.get(scope) ?? 0) < names.size) {
        shared[scope] = Object.fromEntries(names);
        state.sharedSent.set(scope, names.size);
      }
    }
    link.send({ t: 'tasks', tasks: lent.map((l) => l.spec), shared });
    if (lent.length === 0) return;
    (this.report.offload ??= []).push({ to: link.peer, ids: lent.map((l) => l.spec.id), under: lent.map((l) => l.under) });
    this.status.given += lent.length;
  }

  /** Bytes of the constants of `scope` that a lend on this link would carry (all of them, the first time). */
  private unsentConstantBytes(state: LinkState, scope: string): number {
    const names = this.constants.get(scope);
    if (!names || (state.sharedSent.get(scope) ?? 0) >= names.size) return 0;
    let n = 0;
    for (const [name, value] of names) n += 3 * name.length + value.byteLength + 16;
    return n;
  }

  /** A link closed (the peer left, crashed or was cut off): subtasks it held
   * run again here or elsewhere, and its tasks here are dropped. */
  onClosed(link: PeerLink): void {
    const state = this.links.get(link);
    if (!state) return;
    this.links.delete(link);
    this.status.links = this.peerCount();
    const given = [...state.given];
    if (given.length > 0) {
      (this.report.returned ??= []).push(...given);
      this.subtasks.reclaim(link, given);
    }
    this.host.drop(state.taken.values());
    if (state.stealing) (this.report.stole ??= []).push({ from: link.peer, got: 0, linked: true });
    this.host.changed();
  }
}

/** Outcomes for a peer, as the messages that carry them, each at most
 * `messageBytes`: in order, and a result too large for any message fails
 * alone (sent, it would close the link, and every task on it would run again). */
export function resultMessages(outcomes: readonly TaskOutcome[], messageBytes: number): TaskOutcome[][] {
  const budget = messageBytes - FRAME_OVERHEAD_BYTES;
  const resultBytes = budget - outcomeFrameBytes({ ok: true, value: new Uint8Array() });
  const fitting = outcomes.map((outcome) => withinResultLimit(outcome, { resultBytes }));
  return batchesBySize(fitting, outcomeFrameBytes, budget, Infinity);
}

/** How long the coordinator's word that a peer may steal holds: as long as
 * the coordinator waits for the thief (a link may take seconds to open). */
const GRANT_MS = 10_000;
/** How long a steal waits for the coordinator's word before it is refused. */
const GRANT_WAIT_MS = 1000;
