// What the coordinator knows of each page identity's results, and the
// adaptive policy built on it (BOINC's adaptive replication): a new identity
// is untrusted and every result it returns is checked against another
// page's; after TRUST_AFTER checked results agreed in a row it is trusted,
// and its results are checked at random, less often as its record grows, down
// to FLOOR. Agreeing results are the only way up, so clearing a browser's
// storage (a new identity) gains a cheater nothing. A result that loses a
// quorum quarantines its identity for the coordinator's life. A check that
// ends without any quorum moves no record (see Verifier.settle).
//
// Trust lives here only: pages are told their record (to show it), never
// asked. A durable coordinator keeps every record (store.ts), so a restart
// neither frees a quarantined identity nor resets a trusted one.

/** Checked results that must agree in a row before an identity is trusted. */
export const TRUST_AFTER = 5;
/** The lowest chance that a trusted identity's result is checked. */
export const SPOT_CHECK_FLOOR = 0.05;

export interface TrustRecord {
  /** Its results that were compared with another page's. */
  checked: number;
  /** Of those, the ones that agreed. */
  agreed: number;
  /** Agreeing checked results since its last disagreement. */
  streak: number;
  quarantined: boolean;
}

/** What a page is shown, and the dashboard. */
export interface Standing {
  checked: number;
  agreed: number;
  trusted: boolean;
  quarantined: boolean;
}

/** The chance that a result of an identity with this record is checked:
 * always until it is trusted, then 1/(streak - 3), falling to the floor
 * (0.5 at a streak of 5, 0.1 at 13, the floor from 23 on). */
export function checkChance(record: Pick<TrustRecord, 'streak' | 'quarantined'>): number {
  if (record.quarantined || record.streak < TRUST_AFTER) return 1;
  return Math.max(SPOT_CHECK_FLOOR, 1 / (record.streak - TRUST_AFTER + 2));
}

export class TrustBook {
  private readonly records = new Map<string, TrustRecord>();
  /** Identities whose record changed since `changed()` was last read. */
  private readonly dirty = new Set<string>();
  quarantinedCount = 0;
  /** Told of every record that moved, as it moves (the journal, in durable mode). */
  onRecord: (identity: string, record: Readonly<TrustRecord>) => void = () => undefined;

  /** `random` in [0, 1): tests pass their own. */
  constructor(private readonly random: () => number = Math.random) {}

  /** Takes back the records a restarted coordinator's store kept. */
  restore(records: Iterable<{ identity: string } & TrustRecord>): void {
    for (const { identity, checked, agreed, streak, quarantined } of records) {
      if (this.records.get(identity)?.quarantined) this.quarantinedCount--;
      this.records.set(identity, { checked, agreed, streak, quarantined });
      if (quarantined) this.quarantinedCount++;
    }
  }

  get(identity: string): TrustRecord {
    let record = this.records.get(identity);
    if (!record) this.records.set(identity, (record = { checked: 0, agreed: 0, streak: 0, quarantined: false }));
    return record;
  }

  standing(identity: string): Standing {
    const r = this.get(identity);
    return { checked: r.checked, agreed: r.agreed, trusted: !r.quarantined && r.streak >= TRUST_AFTER, quarantined: r.quarantined };
  }

  isQuarantined(identity: string): boolean {
    return this.records.get(identity)?.quarantined === true;
  }

  /** Whether this identity's next result is checked (drawn once per result). */
  shouldCheck(identity: string): boolean {
    const chance = checkChance(this.get(identity));
    return chance >= 1 || this.random() < chance;
  }

  /** Its checked result agreed with the quorum. */
  agreed(identity: string): void {
    const r = this.get(identity);
    r.checked++;
    r.agreed++;
    r.streak++;
    this.dirty.add(identity);
    this.onRecord(identity, r);
  }

  /** Its result lost a quorum. Returns true when this quarantined it now. */
  lost(identity: string): boolean {
    const r = this.get(identity);
    r.checked++;
    r.streak = 0;
    this.dirty.add(identity);
    const now = !r.quarantined;
    if (now) this.quarantinedCount++;
    r.quarantined = true;
    this.onRecord(identity, r);
    return now;
  }

  /** Identities whose record changed since the last call. */
  changed(): string[] {
    // Read every turn of the hub: nothing to copy on most.
    if (this.dirty.size === 0) return [];
    const out = [...this.dirty];
    this.dirty.clear();
    return out;
  }
}
