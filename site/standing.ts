// A volunteer's record with result verification, in plain words for the
// join page (the coordinator keeps the record; see protocol `standing`).
import type { Standing } from '../browser-worker/identity.ts';
import { formatNumber } from './chart.ts';

export type StandingState = 'unchecked' | 'untrusted' | 'trusted' | 'quarantined';

export function standingState(s: Standing): StandingState {
  if (s.quarantined) return 'quarantined';
  if (s.trusted) return 'trusted';
  return s.checked === 0 ? 'unchecked' : 'untrusted';
}

/** "Your results: 120 checked, all agreed: trusted", and so on. */
export function describeStanding(s: Standing): string {
  const state = standingState(s);
  if (state === 'quarantined') return "Your results: quarantined: a result of yours disagreed with other volunteers'; this grid no longer gives you verified work";
  if (state === 'unchecked') return 'Your results: not yet checked';
  const agreed = s.agreed === s.checked ? (s.checked === 1 ? 'it agreed' : 'all agreed') : `${formatNumber(s.agreed)} agreed`;
  return `Your results: ${formatNumber(s.checked)} checked, ${agreed}: ${state === 'trusted' ? 'trusted' : 'not yet trusted'}`;
}
