/**
 * Lease arithmetic for the `fast` consistency mode (pure): how many units an isolate may take,
 * and where they are recorded so that no sliding window can ever hold more than its limit.
 */
import {
  type Buckets,
  type CheckOutcome,
  checkAll,
  currentBucket,
  record,
  type WindowSpec,
} from './sliding-window';

/** What an isolate asks for when it needs a new lease. */
export interface LeaseAsk {
  readonly units: number;
  /** How long the isolate may use the units, from before it sent the ask. */
  readonly ttlMs: number;
  /** Units of the previous lease that were never used, and the instant they were recorded at. */
  readonly refund?: { readonly units: number; readonly at: number };
}

/** The answer: `granted` units, recorded at `at`. `granted = 0` is a rejection. */
export interface LeaseGrant {
  readonly granted: number;
  readonly at: number;
  readonly outcome: CheckOutcome;
}

/** A change of units at an instant, for persistence and write-behind. */
export interface UnitChange {
  readonly at: number;
  readonly units: number;
}

/**
 * Grants a lease at `now`, first taking back the refund. Granted units are recorded at
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
  if (ask.refund && ask.refund.units > 0) {
    const { at } = ask.refund;
    // Never return more than every window still holds at that instant.
    let returned = ask.refund.units;
    for (const spec of specs) {
      const held = counters.get(spec.id)?.get(currentBucket(at, spec.windowMs, spec.limit)) ?? 0;
      returned = Math.min(returned, held);
    }
    if (returned > 0) {
      for (const spec of specs) {
        const buckets = counters.get(spec.id);
        const b = currentBucket(at, spec.windowMs, spec.limit);
        buckets?.set(b, (buckets.get(b) ?? 0) - returned);
      }
      changes.push({ at, units: -returned });
    }
  }
  const before = checkAll(specs, counters, now, 1, false);
  if (!before.allowed) return { grant: { granted: 0, at: now, outcome: before }, changes };
  const available = Math.min(...before.windows.map((w) => w.limit - w.used));
  const granted = Math.min(ask.units, available, Math.max(1, Math.floor(available / 4)));
  const at = now + ask.ttlMs;
  for (const spec of specs) {
    const buckets = counters.get(spec.id);
    if (buckets) record(buckets, at, spec.windowMs, granted, spec.limit);
  }
  changes.push({ at, units: granted });
  const after = checkAll(specs, counters, now, 0, false);
  return { grant: { granted, at, outcome: { ...after, allowed: true } }, changes };
}
