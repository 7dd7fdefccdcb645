/**
 * The units an isolate let pass because the object did not answer in time and the policy fails
 * open, kept until an ask reports them (`LeaseAsk.failedOpen`), so that the object counts them in
 * the windows they passed in. Pure: times are the isolate's clock.
 */
import {
  type CheckOutcome,
  isConcurrency,
  type WindowSpec,
  windowState,
} from '../limiter/contract';
import { type FailedOpen, MAX_FAILED_OPEN_GROUPS } from '../limiter/lease-protocol';

/** Units that passed within one span, recorded at its end (at or after each of them). */
export interface FailedOpenGroup {
  /** When the first unit of the group passed. */
  readonly from: number;
  /** When the last one did: where the object records the group. */
  at: number;
  units: number;
}

/** Units that failed open within this span share a group. */
export const FAILED_OPEN_GROUP_MS = 10;

/**
 * Notes one unit that failed open at `now`: into the newest group if that began less than
 * {@link FAILED_OPEN_GROUP_MS} ago, else a new one. Groups older than `longestWindowMs` count
 * nowhere and are dropped; past {@link MAX_FAILED_OPEN_GROUPS} neighbours are merged pairwise, each
 * pair at the later one's instant, so a long outage coarsens the record (units counted later,
 * hence longer, never less) instead of forgetting any. Mutates and returns `groups`.
 */
export function noteFailedOpen(
  groups: FailedOpenGroup[],
  now: number,
  longestWindowMs: number,
): FailedOpenGroup[] {
  while (groups.length > 0 && (groups[0]?.at ?? now) <= now - longestWindowMs) groups.shift();
  const newest = groups.at(-1);
  if (newest && now - newest.from < FAILED_OPEN_GROUP_MS) {
    newest.at = Math.max(newest.at, now);
    newest.units++;
    return groups;
  }
  groups.push({ from: now, at: now, units: 1 });
  if (groups.length > MAX_FAILED_OPEN_GROUPS) groups.splice(0, groups.length, ...coarsen(groups));
  return groups;
}

/** Neighbours merged pairwise, each pair at the later one's instant, until they fit. */
function coarsen(groups: readonly FailedOpenGroup[]): FailedOpenGroup[] {
  let all = [...groups];
  while (all.length > MAX_FAILED_OPEN_GROUPS) {
    const merged: FailedOpenGroup[] = [];
    for (let i = 0; i < all.length; i += 2) {
      const a = all[i] as FailedOpenGroup;
      const b = all[i + 1];
      merged.push(b ? { from: a.from, at: b.at, units: a.units + b.units } : a);
    }
    all = merged;
  }
  return all;
}

/** The groups as an ask sent at `sentAt` reports them: none older than the longest window. */
export function failedOpenAsk(
  groups: readonly FailedOpenGroup[],
  sentAt: number,
  longestWindowMs: number,
): FailedOpen[] {
  return groups
    .filter((g) => g.at > sentAt - longestWindowMs)
    .map((g) => ({ units: g.units, at: g.at }));
}

/** Units in `groups`. */
export const failedOpenUnits = (groups: readonly FailedOpenGroup[]): number =>
  groups.reduce((sum, g) => sum + g.units, 0);

/**
 * What to keep after an ask that carried `sent` failed: the object may not have counted them, so
 * they go again with the next one (counted twice at worst, never not at all), before what failed
 * open since.
 */
export function restoreFailedOpen(
  sent: readonly FailedOpenGroup[],
  since: readonly FailedOpenGroup[],
): FailedOpenGroup[] {
  return coarsen([...sent, ...since]);
}

/**
 * The refusal this isolate can give on its own evidence while the object fails: when the units
 * it let pass in a window (the groups that began within it) leave no room for `cost` more, the
 * caller is over that limit whatever the other isolates did, so the request is rejected (429)
 * instead of failing open. A caller within its limits is never refused here; an attacker gets at
 * most a limit per window from each isolate rather than everything. Groups that began before the
 * window are left out (coarsened ones span more than one instant), so the count is never more
 * than what passed: when in doubt, the request passes as the policy says. Concurrency limits and
 * windows the origin charges are not judged (the isolate cannot know their slots or charges).
 * @example failedOpenRefusal([{ from: 0, at: 9, units: 100 }], [{ id: 'm', limit: 100, windowMs: 60_000 }], 1, 10)?.allowed // false
 */
export function failedOpenRefusal(
  groups: readonly FailedOpenGroup[],
  windows: readonly WindowSpec[],
  cost: number,
  now: number,
): CheckOutcome | undefined {
  let refused = false;
  const states = windows.map((w) => {
    if (isConcurrency(w) || w.charge === 'origin') return windowState(w, 0, now, now);
    const inside = groups.filter((g) => g.from > now - w.windowMs);
    const used = failedOpenUnits(inside);
    if (used + cost <= w.limit) return windowState(w, used, now, now);
    refused = true;
    // Room for `cost` once enough of the oldest groups have left (each at its last unit, +window).
    let left = used;
    let retryAt = now;
    for (const g of inside) {
      if (left + cost <= w.limit) break;
      left -= g.units;
      retryAt = g.at + w.windowMs;
    }
    return windowState(w, used, retryAt, (inside[0]?.at ?? now) + w.windowMs);
  });
  return refused ? { allowed: false, now, windows: states } : undefined;
}
