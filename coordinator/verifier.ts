// Result verification: which tasks are verified and how, their replicas and
// quorums (quorum.ts), the pages' records (trust.ts), and where a replica may
// run. The task lifecycle (task-lifecycle.ts) creates and schedules replicas
// and acts on the verdicts; this module decides.
//
// A verified task is never scheduled itself: each of its runs is a replica,
// a task of its own (own id, own attempts, own backups) that the scheduler
// places under `eligible`: never on a page identity that already ran or
// holds one of its siblings, never on a quarantined identity, and, while a
// joined page has an address none of its siblings used, not on a used one.
import type { TaskOutcome } from '../protocol/messages.ts';
import type { VerifyOption } from '../protocol/limits.ts';
import { Quorum, majority, type Context, type Verdict, type VerifyMode } from './quorum.ts';
import { TrustBook, type Standing } from './trust.ts';
import type { TaskId } from './ids.ts';

/** Where a page is, as far as verification cares. */
export interface PageSeat {
  identity: string;
  address: string;
}

/** Verification figures for /api/stats. */
export interface VerifyStats {
  /** Verified tasks decided (accepted or failed). */
  tasks: number;
  /** Replica results compared. */
  runs: number;
  /** Runs beyond one per decided task: what verification cost. */
  extra: number;
  /** `extra` as a share of `tasks` (0.05: 5% more executions than without verification). */
  extraShare: number;
  /** Checks where the results agreed at once. */
  agreements: number;
  /** Checks where some result disagreed. */
  disagreements: number;
  /** Verified tasks that failed for want of a quorum. */
  failed: number;
  /** Page identities quarantined. */
  quarantined: number;
  /** Verified tasks waiting for more distinct pages than are joined now:
   * `verify: n` above the pages joined, or a result no other page can check yet. */
  waiting: number;
}

interface Group {
  quorum: Quorum<TaskOutcome>;
  /** The client's own comparison (an export of the task's bundle), when bytes may differ. */
  equal?: string;
  /** What the client answered: pairs of results it judged, and whether they agree. */
  judged: { a: TaskOutcome; b: TaskOutcome; equal: boolean }[];
  /** A `compare` is out to the client: no verdict until it answers. */
  asking: boolean;
  /** Its replicas still queued or running. */
  replicas: Set<TaskId>;
  /** As sent to pages. */
  mode: VerifyMode;
  /** The outcome of the last replica that ended without a result (its pages were lost). */
  lastEnded?: TaskOutcome;
}

/** Whether two outcomes agree: equal packed bytes, or errors of one name and message. */
export function sameOutcome(a: TaskOutcome, b: TaskOutcome): boolean {
  if (a.ok && b.ok) return Buffer.from(a.value.buffer, a.value.byteOffset, a.value.byteLength).equals(b.value);
  if (!a.ok && !b.ok) return a.kind === b.kind && a.error.name === b.error.name && a.error.message === b.error.message;
  return false;
}

export function parseVerifyMode(option: VerifyOption | undefined): VerifyMode | undefined {
  if (option === undefined || option === 'off') return undefined;
  return option === 'adaptive' ? { kind: 'adaptive' } : { kind: 'fixed', n: option };
}

/** The mode as pages see it on a task spec. */
export function modeOption(mode: VerifyMode): number | 'adaptive' {
  return mode.kind === 'adaptive' ? 'adaptive' : mode.n;
}

export class Verifier {
  readonly trust: TrustBook;
  private readonly groups = new Map<TaskId, Group>();
  private readonly primaries = new Map<TaskId, TaskId>();
  /** Open groups each identity voted in (to discard its votes if quarantined). */
  private readonly votedIn = new Map<string, Set<TaskId>>();
  /** Joined pages per address and per identity, quarantined ones left out. */
  private readonly addresses = new Map<string, number>();
  private readonly identities = new Map<string, number>();
  /** Open fixed groups by the majority of their n, the distinct pages they need (for `waiting`). */
  private readonly openByN = new Map<number, number>();
  /** Groups with a replica queued that no joined page could take when it was started. */
  private readonly stalled = new Set<TaskId>();
  private readonly counts = { tasks: 0, runs: 0, agreements: 0, disagreements: 0, failed: 0 };

  constructor(
    /** The grid's default (`--verify`); a task's own option overrides it. */
    private readonly gridDefault: VerifyMode | undefined,
    random: () => number = Math.random,
  ) {
    this.trust = new TrustBook(random);
  }

  /** How a task is verified: its own option, else the grid's default. */
  modeFor(option: VerifyOption | undefined): VerifyMode | undefined {
    return option === undefined ? this.gridDefault : parseVerifyMode(option);
  }

  /** Opens a task's group; returns how many replicas to start. */
  open(primary: TaskId, mode: VerifyMode, equal?: string): number {
    const group: Group = { quorum: new Quorum(mode, (a, b) => this.agree(group, a, b)), replicas: new Set(), mode, equal, judged: [], asking: false };
    this.groups.set(primary, group);
    if (mode.kind === 'fixed') this.openByN.set(majority(mode.n), (this.openByN.get(majority(mode.n)) ?? 0) + 1);
    return group.quorum.start();
  }

  addReplica(primary: TaskId, replica: TaskId): void {
    this.groups.get(primary)?.replicas.add(replica);
    this.primaries.set(replica, primary);
  }

  /** Counts replicas started after a 'more' verdict. */
  launched(primary: TaskId, count: number): void {
    this.groups.get(primary)?.quorum.launchedMore(count);
  }

  primaryOf(replica: TaskId): TaskId | undefined {
    return this.primaries.get(replica);
  }

  // ---- pages ----

  pageJoined(seat: PageSeat): void {
    if (this.trust.isQuarantined(seat.identity)) return;
    this.addresses.set(seat.address, (this.addresses.get(seat.address) ?? 0) + 1);
    this.identities.set(seat.identity, (this.identities.get(seat.identity) ?? 0) + 1);
  }

  pageLeft(seat: PageSeat): void {
    if (this.trust.isQuarantined(seat.identity)) return;
    this.unseat(seat);
  }

  standing(identity: string): Standing {
    return this.trust.standing(identity);
  }

  /** Whether a page may run a replica, given where its siblings ran or run
   * (`holders`: the seats of the pages holding each of its siblings). */
  eligible(replica: TaskId, page: PageSeat, holders: (sibling: TaskId) => PageSeat[]): boolean {
    const primary = this.primaries.get(replica);
    if (primary === undefined) return true;
    if (this.trust.isQuarantined(page.identity)) return false;
    const group = this.groups.get(primary);
    if (!group) return true;
    const used = new Set<string>();
    for (const v of group.quorum.votes) {
      if (v.identity === page.identity) return false;
      used.add(v.address);
    }
    for (const sibling of group.replicas) {
      if (sibling === replica) continue;
      for (const seat of holders(sibling)) {
        if (seat.identity === page.identity) return false;
        used.add(seat.address);
      }
    }
    if (!used.has(page.address)) return true;
    // A used address only when every joined address is used already.
    for (const address of this.addresses.keys()) if (!used.has(address)) return false;
    return true;
  }

  /** Whether some joined page could run another replica of the group: an
   * identity that has not voted in it and holds none of its replicas. */
  canPlaceMore(primary: TaskId, holders: (sibling: TaskId) => PageSeat[]): boolean {
    const group = this.groups.get(primary);
    if (!group) return false;
    const used = new Set(group.quorum.votes.map((v) => v.identity));
    for (const sibling of group.replicas) for (const seat of holders(sibling)) used.add(seat.identity);
    for (const identity of this.identities.keys()) if (!used.has(identity)) return true;
    return false;
  }

  /** A replica was started that no joined page can take yet (see stats' waiting). */
  stall(primary: TaskId): void {
    this.stalled.add(primary);
  }

  /** How many distinct pages the group needs in all, as it stands. */
  requiredPages(primary: TaskId): number {
    const quorum = this.groups.get(primary)?.quorum;
    return quorum ? Math.max(quorum.required, quorum.votes.length + 1) : 0;
  }

  /** The group's failure as it stands (no page can run another replica). */
  giveUp(primary: TaskId): Extract<Verdict<TaskOutcome>, { kind: 'fail' }> {
    const quorum = this.groups.get(primary)?.quorum;
    const votes = quorum?.votes ?? [];
    return { kind: 'fail', distinct: quorum?.classes(this.context()).length ?? 0, runs: votes.length, votes };
  }

  /** Distinct identities joined that may run verified work. */
  get eligibleIdentities(): number {
    return this.identities.size;
  }

  // ---- results ----

  /** A replica's result from a page. */
  vote(replica: TaskId, seat: PageSeat, outcome: TaskOutcome): { primary: TaskId; verdict: Verdict<TaskOutcome> } | undefined {
    const found = this.take(replica);
    if (!found) return undefined;
    const [primary, group] = found;
    // A quarantined page's result (it was running when it lost) does not count.
    if (this.trust.isQuarantined(seat.identity)) return { primary, verdict: group.quorum.ended(this.context()) };
    this.stalled.delete(primary);
    this.counts.runs++;
    let voted = this.votedIn.get(seat.identity);
    if (!voted) this.votedIn.set(seat.identity, (voted = new Set()));
    voted.add(primary);
    return { primary, verdict: group.quorum.vote({ identity: seat.identity, address: seat.address, outcome }, this.context()) };
  }

  /** A replica ended without a result (lost past its attempts, or refused). */
  ended(replica: TaskId, outcome: TaskOutcome | undefined): { primary: TaskId; verdict: Verdict<TaskOutcome> } | undefined {
    const found = this.take(replica);
    if (!found) return undefined;
    const [primary, group] = found;
    if (outcome) group.lastEnded = outcome;
    return { primary, verdict: group.quorum.ended(this.context()) };
  }

  /** A replica withdrawn (cancelled): it neither votes nor is replaced. */
  withdraw(replica: TaskId): void {
    this.take(replica);
  }

  /** The outcome of the last replica that ended without a result, for a group that got none. */
  lastEnded(primary: TaskId): TaskOutcome | undefined {
    return this.groups.get(primary)?.lastEnded;
  }

  // ---- a client's own comparison (verify: { equal }) ----

  /** Pairs of results the client must judge before the group can be
   * decided (distinct bytes, both values, not judged yet); none while a
   * question is out. Marks the group as asking when there are some. */
  toJudge(primary: TaskId): { bundleFn: string; pairs: [TaskOutcome, TaskOutcome][] } | undefined {
    const group = this.groups.get(primary);
    if (!group?.equal || group.asking) return undefined;
    const reps: TaskOutcome[] = [];
    for (const v of group.quorum.votes) if (v.outcome.ok && !reps.some((r) => sameOutcome(r, v.outcome))) reps.push(v.outcome);
    const pairs: [TaskOutcome, TaskOutcome][] = [];
    for (let i = 0; i < reps.length; i++) {
      for (let j = i + 1; j < reps.length; j++) if (this.judgement(group, reps[i], reps[j]) === undefined) pairs.push([reps[i], reps[j]]);
    }
    if (pairs.length === 0) return undefined;
    group.asking = true;
    return { bundleFn: group.equal, pairs };
  }

  /** The client's answer for the pairs it was asked; the group's verdict now. */
  judged(primary: TaskId, pairs: [TaskOutcome, TaskOutcome][], equal: readonly boolean[]): Verdict<TaskOutcome> | undefined {
    const group = this.groups.get(primary);
    if (!group?.asking) return undefined;
    group.asking = false;
    pairs.forEach(([a, b], i) => group.judged.push({ a, b, equal: equal[i] === true }));
    return group.quorum.decide(this.context());
  }

  /** Whether a group waits for the client's judgement. */
  asking(primary: TaskId): boolean {
    return this.groups.get(primary)?.asking === true;
  }

  private agree(group: Group, a: TaskOutcome, b: TaskOutcome): boolean {
    return sameOutcome(a, b) || (group.equal !== undefined && this.judgement(group, a, b) === true);
  }

  private judgement(group: Group, a: TaskOutcome, b: TaskOutcome): boolean | undefined {
    for (const j of group.judged) {
      if ((sameOutcome(j.a, a) && sameOutcome(j.b, b)) || (sameOutcome(j.a, b) && sameOutcome(j.b, a))) return j.equal;
    }
    return undefined;
  }

  /** Records a decided group's effect on the pages' records; returns the
   * identities this quarantined. */
  settle(primary: TaskId, verdict: Extract<Verdict<TaskOutcome>, { kind: 'accept' | 'fail' }>): string[] {
    this.counts.tasks++;
    const quarantined: string[] = [];
    if (verdict.kind === 'fail') {
      this.counts.failed++;
      if (verdict.votes.length > 1) this.counts.disagreements++;
      // No record moves: with no quorum, nothing says which page was wrong
      // (most often the task is not deterministic), and a reset would let any
      // submitter push every page back to being checked always.
    } else if (verdict.checked) {
      if (verdict.losers.length > 0) this.counts.disagreements++;
      else this.counts.agreements++;
      // A client's own comparison decides its task, not the pages' records:
      // its word must not quarantine honest pages (nor vouch for liars).
      if (this.groups.get(primary)?.equal !== undefined) return quarantined;
      for (const v of verdict.winners) this.trust.agreed(v.identity);
      for (const v of verdict.losers) if (this.quarantine(v.identity)) quarantined.push(v.identity);
    }
    return quarantined;
  }

  /** Forgets a group (decided, or cancelled); returns its replicas still live. */
  close(primary: TaskId): TaskId[] {
    const group = this.groups.get(primary);
    if (!group) return [];
    this.groups.delete(primary);
    this.stalled.delete(primary);
    if (group.mode.kind === 'fixed') {
      const key = majority(group.mode.n);
      const n = (this.openByN.get(key) ?? 1) - 1;
      if (n > 0) this.openByN.set(key, n);
      else this.openByN.delete(key);
    }
    for (const v of group.quorum.votes) {
      const voted = this.votedIn.get(v.identity);
      voted?.delete(primary);
      if (voted?.size === 0) this.votedIn.delete(v.identity);
    }
    const live = [...group.replicas];
    for (const r of live) this.primaries.delete(r);
    return live;
  }

  /** Groups in which a just-quarantined identity had voted, with their new
   * verdicts once its votes are discarded. */
  requarantined(identity: string): { primary: TaskId; verdict: Verdict<TaskOutcome> }[] {
    const out: { primary: TaskId; verdict: Verdict<TaskOutcome> }[] = [];
    for (const primary of this.votedIn.get(identity) ?? []) {
      const group = this.groups.get(primary);
      if (!group || !group.quorum.discard(identity)) continue;
      out.push({ primary, verdict: group.quorum.decide(this.context()) });
    }
    this.votedIn.delete(identity);
    return out;
  }

  stats(): VerifyStats {
    let waiting = this.stalled.size;
    for (const [n, count] of this.openByN) if (n > this.identities.size) waiting += count;
    const extra = Math.max(0, this.counts.runs - this.counts.tasks);
    const extraShare = this.counts.tasks === 0 ? 0 : Math.round((extra / this.counts.tasks) * 1000) / 1000;
    return { ...this.counts, extra, extraShare, quarantined: this.trust.quarantinedCount, waiting };
  }

  // ---- internals ----

  private context(): Context {
    return { multiAddress: this.addresses.size > 1, shouldCheck: (identity) => this.trust.shouldCheck(identity) };
  }

  private take(replica: TaskId): [TaskId, Group] | undefined {
    const primary = this.primaries.get(replica);
    if (primary === undefined) return undefined;
    this.primaries.delete(replica);
    const group = this.groups.get(primary);
    if (!group) return undefined;
    group.replicas.delete(replica);
    return [primary, group];
  }

  /** Quarantines an identity; true if it was not already. Its joined pages
   * stop counting as places for verified work. */
  private quarantine(identity: string): boolean {
    if (this.trust.isQuarantined(identity)) return false;
    this.trust.lost(identity);
    return true;
  }

  /** Called by the task lifecycle for each joined page of a newly quarantined identity. */
  unseat(seat: PageSeat): void {
    const a = (this.addresses.get(seat.address) ?? 1) - 1;
    if (a > 0) this.addresses.set(seat.address, a);
    else this.addresses.delete(seat.address);
    const i = (this.identities.get(seat.identity) ?? 1) - 1;
    if (i > 0) this.identities.set(seat.identity, i);
    else this.identities.delete(seat.identity);
  }
}
