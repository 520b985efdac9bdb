// One verified task's replicas and their votes: when enough agree, which
// result wins, and when to run another replica or give up.
//
// Fixed replication (`verify: n`) runs n replicas and accepts a result that
// a majority of n (floor(n/2)+1) agree on. Adaptive replication runs one,
// and draws at its result whether to check it (always for an untrusted page,
// at random for a trusted one, see trust.ts); a checked result needs one
// other agreeing. Either way, when the results in hand cannot form a quorum,
// more replicas run, up to a cap (2n+1, or 5), and past it the task fails.
//
// Agreement is counted in distinct network addresses when the grid has
// pages on more than one (so one person's ten tabs cannot outvote the
// others), in distinct page identities otherwise. Which outcomes agree is
// the caller's `same` (equal packed bytes, by default).

/** How many of `verify: n`'s results must agree: the distinct pages it cannot do without. */
export const majority = (n: number): number => Math.floor(n / 2) + 1;

export type VerifyMode = { kind: 'fixed'; n: number } | { kind: 'adaptive' };

export interface Vote<O> {
  identity: string;
  address: string;
  outcome: O;
}

export type Verdict<O> =
  /** `checked`: more than one result was compared (adaptive may accept one
   * unchecked); `losers` voted for other results. */
  | { kind: 'accept'; outcome: O; winners: Vote<O>[]; losers: Vote<O>[]; checked: boolean }
  /** Run this many more replicas. */
  | { kind: 'more'; count: number }
  /** No quorum within the cap: how many distinct results, from how many runs. */
  | { kind: 'fail'; distinct: number; runs: number; votes: Vote<O>[] }
  /** Replicas in flight may yet decide it. */
  | { kind: 'pending' };

/** The most replicas a fixed `verify: n` may run. */
export const fixedCap = (n: number): number => 2 * n + 1;
export const ADAPTIVE_CAP = 5;

export interface Context {
  /** Pages on more than one network address are joined (agreement counts addresses). */
  multiAddress: boolean;
  /** Adaptive: whether this identity's result is checked (drawn once, at the first result). */
  shouldCheck: (identity: string) => boolean;
}

export class Quorum<O> {
  /** Replicas started (cap counts these). */
  launched = 0;
  /** Replicas started that have neither voted nor ended. */
  inFlight = 0;
  votes: Vote<O>[] = [];
  /** Adaptive: undecided until its first result, then whether results are checked. */
  private checking: boolean | undefined;
  private readonly cap: number;

  constructor(
    readonly mode: VerifyMode,
    private readonly same: (a: O, b: O) => boolean,
  ) {
    this.cap = mode.kind === 'fixed' ? fixedCap(mode.n) : ADAPTIVE_CAP;
  }

  /** How many replicas to start with. */
  start(): number {
    const n = this.mode.kind === 'fixed' ? this.mode.n : 1;
    this.launched += n;
    this.inFlight += n;
    return n;
  }

  /** Counts replicas the caller started after a 'more' verdict. */
  launchedMore(count: number): void {
    this.launched += count;
    this.inFlight += count;
  }

  /** How many results must agree. */
  get required(): number {
    if (this.mode.kind === 'fixed') return majority(this.mode.n);
    return this.checking === true ? 2 : 1;
  }

  /** A replica's result. A second vote from one identity is not counted. */
  vote(vote: Vote<O>, ctx: Context): Verdict<O> {
    this.inFlight = Math.max(0, this.inFlight - 1);
    if (this.votes.some((v) => v.identity === vote.identity)) return this.decide(ctx);
    this.votes.push(vote);
    if (this.mode.kind === 'adaptive' && this.checking === undefined) this.checking = ctx.shouldCheck(vote.identity);
    return this.decide(ctx);
  }

  /** A replica ended without a result (its pages were lost, or it was refused). */
  ended(ctx: Context): Verdict<O> {
    this.inFlight = Math.max(0, this.inFlight - 1);
    return this.decide(ctx);
  }

  /** Drops the votes of a quarantined identity (its run no longer counts
   * against the cap either); true if it had voted. */
  discard(identity: string): boolean {
    const before = this.votes.length;
    this.votes = this.votes.filter((v) => v.identity !== identity);
    const gone = before - this.votes.length;
    this.launched -= gone;
    return gone > 0;
  }

  /** The votes grouped by agreeing outcome, heaviest first. */
  classes(ctx: Pick<Context, 'multiAddress'>): { outcome: O; votes: Vote<O>[]; weight: number }[] {
    const classes: { outcome: O; votes: Vote<O>[]; weight: number }[] = [];
    for (const v of this.votes) {
      const c = classes.find((k) => this.same(k.outcome, v.outcome));
      if (c) c.votes.push(v);
      else classes.push({ outcome: v.outcome, votes: [v], weight: 0 });
    }
    for (const c of classes) c.weight = new Set(c.votes.map((v) => (ctx.multiAddress ? v.address : v.identity))).size;
    return classes.sort((a, b) => b.weight - a.weight);
  }

  decide(ctx: Context): Verdict<O> {
    if (this.votes.length === 0 && this.inFlight > 0) return { kind: 'pending' };
    const classes = this.classes(ctx);
    const best = classes[0];
    const required = this.required;
    if (best && best.weight >= required) {
      const losers = classes.slice(1).flatMap((c) => c.votes);
      return { kind: 'accept', outcome: best.outcome, winners: best.votes, losers, checked: this.votes.length > 1 };
    }
    const missing = required - (best?.weight ?? 0);
    if (this.inFlight >= missing) return { kind: 'pending' };
    const room = this.cap - this.launched;
    if (room > 0) return { kind: 'more', count: Math.min(missing - this.inFlight, room) };
    if (this.inFlight > 0) return { kind: 'pending' };
    return { kind: 'fail', distinct: classes.length, runs: this.votes.length, votes: this.votes };
  }
}
