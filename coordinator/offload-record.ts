// The coordinator's record of peer offloads: which page holds which page's
// subtasks. Pages hand subtasks to each other over WebRTC without the
// coordinator, but tell it of each offload and each settlement, so that
// when a page leaves the pages on either side of its offloads can be told,
// and so that a page may release its own subtasks to the grid under a
// subtask it holds for another page (the record knows that subtask's tree).
import type { ScopeId } from './ids.ts';

/** Where one offloaded subtask is, and the tree it belongs to when the giver could show it. */
interface Lent {
  holder: string;
  scope?: ScopeId;
}

export class OffloadRecord {
  /** Giving page -> its subtask id -> the page holding it. */
  private readonly given = new Map<string, Map<number, Lent>>();
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

  /** `scopes[i]`: the tree of `ids[i]`, when the giver runs the task it descends from. */
  offloaded(giver: string, holder: string, ids: number[], scopes: (ScopeId | undefined)[] = []): void {
    let subs = this.given.get(giver);
    if (!subs) this.given.set(giver, (subs = new Map<number, Lent>()));
    let added = 0;
    ids.forEach((id, i) => {
      const was = subs.get(id);
      if (was) this.count(was.holder, giver, -1);
      subs.set(id, { holder, scope: scopes[i] });
      added++;
    });
    this.count(holder, giver, added);
  }

  /** The tree of subtask `id` of page `giver`, if `holder` holds it and its tree is known. */
  scopeHeld(holder: string, giver: string, id: number): ScopeId | undefined {
    const lent = this.given.get(giver)?.get(id);
    return lent?.holder === holder ? lent.scope : undefined;
  }

  /** Offloaded subtasks that are settled (result back, cancelled or taken back). */
  returned(giver: string, ids: number[]): void {
    const subs = this.given.get(giver);
    if (!subs) return;
    for (const id of ids) {
      const lent = subs.get(id);
      if (lent === undefined) continue;
      subs.delete(id);
      this.count(lent.holder, giver, -1);
    }
    if (subs.size === 0) this.given.delete(giver);
  }

  /** Forgets a page that left; returns the pages to tell: those holding its
   * subtasks (they drop them) and those whose subtasks it held (they take
   * them back, to run again at home or on another peer). */
  pageGone(id: string): Set<string> {
    const tell = new Set<string>();
    for (const holder of new Set([...(this.given.get(id)?.values() ?? [])].map((lent) => lent.holder))) {
      tell.add(holder);
      this.held.get(holder)?.delete(id);
    }
    this.given.delete(id);
    for (const giver of this.held.get(id)?.keys() ?? []) {
      tell.add(giver);
      const subs = this.given.get(giver)!;
      for (const [sub, lent] of subs) if (lent.holder === id) subs.delete(sub);
      if (subs.size === 0) this.given.delete(giver);
    }
    this.held.delete(id);
    return tell;
  }

  private count(holder: string, giver: string, n: number): void {
    let of = this.held.get(holder);
    if (!of) this.held.set(holder, (of = new Map<string, number>()));
    const left = (of.get(giver) ?? 0) + n;
    if (left > 0) of.set(giver, left);
    else of.delete(giver);
    if (of.size === 0) this.held.delete(holder);
  }
}
