// The coordinator's record of peer offloads: which page holds which page's
// subtasks. Pages hand subtasks to each other over WebRTC without the
// coordinator, but tell it of each offload and each settlement, so that
// when a page leaves the pages on either side of its offloads can be told.

export class OffloadRecord {
  /** Giving page -> its subtask id -> the page holding it. */
  private readonly given = new Map<string, Map<number, string>>();
  /** Holding page -> giving page -> how many of its subtasks. */
  private readonly held = new Map<string, Map<string, number>>();

  /** Subtasks on a peer now, in all. */
  get onPeers(): number {
    let n = 0;
    for (const subs of this.given.values()) n += subs.size;
    return n;
  }

  /** Subtasks `holder` holds for other pages. */
  heldBy(holder: string): number {
    let n = 0;
    for (const count of this.held.get(holder)?.values() ?? []) n += count;
    return n;
  }

  offloaded(giver: string, holder: string, ids: number[]): void {
    let subs = this.given.get(giver);
    if (!subs) this.given.set(giver, (subs = new Map()));
    for (const id of ids) subs.set(id, holder);
    this.count(holder, giver, ids.length);
  }

  /** Offloaded subtasks that are settled (result back, cancelled or taken back). */
  returned(giver: string, ids: number[]): void {
    const subs = this.given.get(giver);
    if (!subs) return;
    for (const id of ids) {
      const holder = subs.get(id);
      if (holder === undefined) continue;
      subs.delete(id);
      this.count(holder, giver, -1);
    }
    if (subs.size === 0) this.given.delete(giver);
  }

  /** Forgets a page that left; returns the pages to tell: those holding its
   * subtasks (they drop them) and those whose subtasks it held (they take
   * them back, to run again at home or on another peer). */
  pageGone(id: string): Set<string> {
    const tell = new Set<string>();
    for (const holder of new Set(this.given.get(id)?.values())) {
      tell.add(holder);
      this.held.get(holder)?.delete(id);
    }
    this.given.delete(id);
    for (const giver of this.held.get(id)?.keys() ?? []) {
      tell.add(giver);
      const subs = this.given.get(giver)!;
      for (const [sub, holder] of subs) if (holder === id) subs.delete(sub);
      if (subs.size === 0) this.given.delete(giver);
    }
    this.held.delete(id);
    return tell;
  }

  private count(holder: string, giver: string, n: number): void {
    let of = this.held.get(holder);
    if (!of) this.held.set(holder, (of = new Map()));
    const left = (of.get(giver) ?? 0) + n;
    if (left > 0) of.set(giver, left);
    else of.delete(giver);
    if (of.size === 0) this.held.delete(holder);
  }
}
