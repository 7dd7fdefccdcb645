/**
 * The sliding window's lease rule for the `fast` consistency mode (pure): how many units an isolate may take,
 * and where they are recorded so that no sliding window can ever hold more than its limit.
 */
import type { WindowSpec } from '../../contract';
import {
  type FailedOpen,
  type LeaseAsk,
  type LeaseGrant,
  type LeaseRefund,
  MAX_FAILED_OPEN_GROUPS,
  MAX_USED_PARTS,
  type UsedPart,
} from '../../lease-protocol';
import {
  type Buckets,
  bucketExpiry,
  checkAll,
  currentBucket,
  EXACT_UP_TO,
  record,
} from './arithmetic';

/**
 * Longest a full window's lease may wait for the units it grants to leave the window [500 ms]
 * (and at most half the ask's ttl, so that what is granted stays usable for half of it). A full
 * window frees units as its oldest leave; granted ahead to the isolate that asks, they are no
 * longer contested by every isolate asking again as each unit frees (the object's load and the
 * wait of a large identity at its limit: docs/simulation.md, `--big-limit`).
 */
export const FUTURE_GRANT_MS = 500;

/**
 * Fewest units an ask must carry to be granted ahead [4]: an isolate that asks for fewer sees
 * the identity a few times a second at most, and units held for its next request would sit while
 * other isolates' requests are refused (measured: the free tier's false rejections 403 -> 1,219
 * with every ask granted ahead). Only windows above `EXACT_UP_TO` are granted ahead: their units
 * free a bucket at a time, many at once, where a small limit's free one by one, and a unit held
 * for one isolate is one the exact log gives to whichever request comes first (measured, the pro
 * tier at seed 3: 2,669 -> 3,617 false rejections when small limits were granted ahead too).
 */
export const FUTURE_GRANT_MIN_UNITS = 4;

/** A change of units at an instant, for persistence and write-behind. */
export interface UnitChange {
  readonly at: number;
  readonly units: number;
}

/**
 * Grants a lease at `now`, first taking back the refund and recording the debt (units the isolate
 * served optimistically, recorded at `now`, forced: they were served whatever the windows say)
 * and the units that failed open (forced too, where they passed).
 * Granted units are recorded at
 * `now + ttlMs`, the last instant the isolate may use them, so every unit is counted from an
 * instant at or after its real use. An isolate gets at most a quarter of what is left (at least
 * one unit), so leases shrink as the limit nears. Mutates `counters`.
 * @returns the grant and the unit changes it made.
 */
export function grantLease(
  specs: readonly WindowSpec[],
  counters: Map<string, Buckets>,
  now: number,
  ask: LeaseAsk,
): { grant: LeaseGrant; changes: UnitChange[] } {
  const changes: UnitChange[] = [];
  for (const refund of [...(ask.refund ? [ask.refund] : []), ...(ask.refunds ?? [])]) {
    changes.push(...settle(specs, counters, refund));
  }
  const asked = Math.floor(ask.debt ?? 0);
  // Not a whole number of units (NaN, Infinity): nothing to record.
  const debt = Number.isSafeInteger(asked) ? Math.max(0, asked) : 0;
  if (debt > 0) {
    // Already served: counted at the first instant the object knows of them, limit or not.
    checkAll(specs, counters, now, debt, 'force');
    changes.push({ at: now, units: debt });
  }
  if (ask.failedOpen?.length)
    changes.push(...recordFailedOpen(specs, counters, now, ask.failedOpen));
  const before = checkAll(specs, counters, now, 1, false);
  // A full window may still lease what frees soon (`futureGrant`); else a quarter of what is left.
  const lease = before.allowed
    ? { granted: grantNow(before, ask), fromMs: 0 }
    : futureGrant(specs, counters, now, ask);
  if (!lease || lease.granted <= 0) {
    // Refused, or an ask for nothing (it only carried debt or refunds): the answer, no lease.
    return { grant: { granted: 0, at: now, outcome: before }, changes };
  }
  const { granted, fromMs } = lease;
  const at = now + fromMs + ask.ttlMs;
  for (const spec of specs) {
    const buckets = counters.get(spec.id);
    if (buckets) record(buckets, at, spec.windowMs, granted, spec.limit);
  }
  changes.push({ at, units: granted });
  const after = checkAll(specs, counters, now, 0, false);
  const outcome = { ...after, allowed: true };
  return { grant: { granted, at, ...(fromMs > 0 ? { fromMs } : {}), outcome }, changes };
}

/** Units granted now from a window with room: a quarter of what is left, at least one. */
function grantNow(
  before: { readonly windows: readonly { limit: number; used: number }[] },
  ask: LeaseAsk,
): number {
  const available = Math.min(...before.windows.map((w) => w.limit - w.used));
  // A malformed ask (units or ttl not a number) gets nothing: NaN units recorded would make the
  // window refuse everything until it expired.
  const units = Math.floor(ask.units);
  const wanted = Number.isSafeInteger(units) && Number.isFinite(ask.ttlMs) && ask.ttlMs >= 0;
  return wanted ? Math.min(units, available, Math.max(1, Math.floor(available / 4))) : 0;
}

/**
 * Takes back one settled lease: its unused units leave the lease's bucket, its used units move to
 * the last instant they can have been used. Mutates `counters`; returns the unit changes.
 */
function settle(
  specs: readonly WindowSpec[],
  counters: Map<string, Buckets>,
  refund: LeaseRefund,
): UnitChange[] {
  const changes: UnitChange[] = [];
  const { at } = refund;
  const used = Math.max(0, refund.used ?? 0);
  // Never take back more than every window still holds at that instant.
  let take = Math.max(0, refund.units) + used;
  for (const spec of specs) {
    const held = counters.get(spec.id)?.get(currentBucket(at, spec.windowMs, spec.limit)) ?? 0;
    take = Math.min(take, held);
  }
  if (take > 0) {
    const ttl = Math.max(0, refund.ttlMs ?? 0);
    // The grant came after the ask was sent, so a use `within` ms after sending happened no
    // later than `grant + within` on the object's clock.
    const useBy = (withinMs: number | undefined) =>
      Math.min(at, at - ttl + (Number.isFinite(withinMs) ? Math.max(0, withinMs ?? 0) : ttl));
    const placed = placements(Math.min(used, take), refund, useBy);
    for (const spec of specs) {
      const buckets = counters.get(spec.id);
      const b = currentBucket(at, spec.windowMs, spec.limit);
      buckets?.set(b, (buckets.get(b) ?? 0) - take);
      for (const p of placed) {
        if (buckets) record(buckets, p.at, spec.windowMs, p.units, spec.limit);
      }
    }
    changes.push({ at, units: -take }, ...placed);
  }
  return changes;
}

/** A part with a whole, positive number of units (its time is checked where it is placed). */
function isUsedPart(part: unknown): part is UsedPart {
  if (typeof part !== 'object' || part === null) return false;
  const { units, withinMs } = part as Partial<UsedPart>;
  return Number.isSafeInteger(units) && (units ?? 0) > 0 && typeof withinMs === 'number';
}

/**
 * Where `moved` used units go: each of the refund's parts (the latest first, no later than the
 * last use) takes its units, and what no part holds stays at the last use. `useBy` reads a
 * duration after the ask's sending as the object's instant. Malformed parts (not a whole number
 * of units, no time; `usedParts` not a list) hold nothing.
 */
function placements(
  moved: number,
  refund: LeaseRefund,
  useBy: (withinMs: number | undefined) => number,
): UnitChange[] {
  const lastUse = useBy(refund.usedWithinMs);
  const given: unknown = refund.usedParts;
  const parts = (Array.isArray(given) ? (given as unknown[]) : [])
    .slice(0, MAX_USED_PARTS)
    .filter(isUsedPart)
    .map((p) => ({ at: Math.min(lastUse, useBy(p.withinMs)), units: p.units }))
    .sort((a, b) => b.at - a.at);
  const placed: UnitChange[] = [];
  let left = moved;
  // Units the parts do not account for were used by the last use at the latest.
  const partUnits = parts.reduce((sum, p) => sum + p.units, 0);
  const atLast = Math.max(0, left - partUnits);
  if (atLast > 0) placed.push({ at: lastUse, units: atLast });
  left -= atLast;
  for (const part of parts) {
    if (left <= 0) break;
    const units = Math.min(left, part.units);
    placed.push({ at: part.at, units });
    left -= units;
  }
  return placed;
}

/**
 * Records units that failed open where they passed (at most `now`), forced; a group older than
 * every window counts nowhere and is skipped. Mutates `counters`; returns the unit changes.
 */
function recordFailedOpen(
  specs: readonly WindowSpec[],
  counters: Map<string, Buckets>,
  now: number,
  groups: readonly FailedOpen[],
): UnitChange[] {
  const longest = Math.max(0, ...specs.map((s) => s.windowMs));
  const changes: UnitChange[] = [];
  for (const group of groups.slice(0, MAX_FAILED_OPEN_GROUPS)) {
    const units = Math.floor(group.units);
    const at = Math.min(now, group.at);
    // Malformed groups (not a whole number of units, no time, older than every window) count nowhere.
    if (!Number.isSafeInteger(units) || units <= 0 || !(at > now - longest)) continue;
    // Only where the units still count (an older one would sit in a bucket the next prune drops),
    // forced, as debt is.
    checkAll(
      specs.filter((spec) => at > now - spec.windowMs),
      counters,
      at,
      units,
      'force',
    );
    changes.push({ at, units });
  }
  return changes;
}

/**
 * Units of every window still free at `t >= now`: each limit less what counts at `t` (units that
 * leave before `t` no longer, units recorded at later instants, leases, already).
 */
function freeAt(specs: readonly WindowSpec[], counters: Map<string, Buckets>, t: number): number {
  let free = Number.POSITIVE_INFINITY;
  for (const spec of specs) {
    let counted = 0;
    for (const [b, n] of counters.get(spec.id) ?? []) {
      if (n > 0 && bucketExpiry(b, spec.windowMs, spec.limit) > t) counted += n;
    }
    free = Math.min(free, spec.limit - counted);
  }
  return free;
}

/**
 * A lease of units that leave every window within `FUTURE_GRANT_MS` (at most half the ask's ttl):
 * a quarter of what is free then (at least one, at most what was asked), usable from the first
 * instant that many are free (`fromMs` after `now`). What counts at an instant only falls with
 * time, so once that many are free they stay free for the lease. `undefined`: nothing frees in
 * time, or the ask asks for nothing.
 */
function futureGrant(
  specs: readonly WindowSpec[],
  counters: Map<string, Buckets>,
  now: number,
  ask: LeaseAsk,
): { granted: number; fromMs: number } | undefined {
  const units = Math.floor(ask.units);
  if (!(Number.isSafeInteger(units) && units >= FUTURE_GRANT_MIN_UNITS)) return undefined;
  if (specs.some((spec) => spec.limit <= EXACT_UP_TO)) return undefined;
  if (!Number.isFinite(ask.ttlMs)) return undefined;
  const horizon = Math.floor(Math.min(FUTURE_GRANT_MS, ask.ttlMs / 2));
  if (!(horizon > 0)) return undefined;
  const free = freeAt(specs, counters, now + horizon);
  if (free < 1) return undefined;
  const granted = Math.min(units, free, Math.max(1, Math.floor(free / 4)));
  // The first instant `granted` units are free: what is free only grows with time.
  let lo = 1;
  let hi = horizon;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (freeAt(specs, counters, now + mid) >= granted) hi = mid;
    else lo = mid + 1;
  }
  return { granted, fromMs: lo };
}
