/**
 * When the limiter object saves (pure): decisions only change memory; the object writes its
 * snapshot to storage (and, in hybrid mode, to Redis) from its alarm, at most
 * {@link SAVE_INTERVAL_MS} after the first unsaved change, and at once — before the answer
 * leaves — when a window's unsaved units reach {@link unsavedLimit} of its limit. So an object that
 * crashes (or is evicted at an arbitrary instant) forgets at most `unsavedLimit(limit) - 1` units
 * per window, and nothing older than the interval. A lease call that only gives units back is no
 * change of its own ({@link onlyGivesBack}): it goes to storage with the next save.
 */
import type { LeaseAsk, LeaseGrant } from '../limiter/lease-protocol';

/** Longest a change waits in memory before the alarm saves it. */
export const SAVE_INTERVAL_MS = 2_000;
/** Fewest unsaved units per window that force a save within the decision. */
export const MIN_UNSAVED_UNITS = 10;
/** Share of a window's limit that may be unsaved before a save within the decision. */
export const UNSAVED_SHARE = 0.01;

/** Longest wait between two attempts to send Redis the snapshot while it fails. */
export const MAX_RETRY_MS = 8_000;

/**
 * Wait before the next attempt after `failures` failed sends in a row: the interval, doubling up
 * to {@link MAX_RETRY_MS}. A Redis down for a minute then costs each object that owes it about 9
 * alarms instead of 30, and Redis has caught up at most 8 s after it is back (`npm run sim`:
 * 0.089 rows per request and 0 units behind at the end with 8 s; 0.102 and 0 with 4 s; 0.080 and
 * 25,690 units still behind 5 s after the outage with 60 s).
 * @example retryDelayMs(1) // 2000; retryDelayMs(2) // 4000; retryDelayMs(9) // 8000
 */
export function retryDelayMs(failures: number): number {
  return Math.min(MAX_RETRY_MS, SAVE_INTERVAL_MS * 2 ** Math.max(0, failures - 1));
}

/**
 * Units of a window of `limit` that may be unsaved: `max(10, ceil(1% of the limit))`. A save
 * within the decision happens once this many are unsaved, so at most one less is ever lost.
 * @example unsavedLimit(100) // 10; unsavedLimit(1_500_000) // 15_000
 */
export function unsavedLimit(limit: number): number {
  return Math.max(MIN_UNSAVED_UNITS, Math.ceil(limit * UNSAVED_SHARE));
}

/**
 * Whether a lease call only gave units back: it carried no debt, no units that failed open, and
 * was granted nothing (a return of an expired lease, or a refusal carrying refunds). Its changes are saved with the
 * next save that something else asks for, not on their own (no alarm, no row): forgotten in a
 * crash, the refunded units stay counted where the lease put them, at or after their use, so
 * the object counts more for a while, never less.
 * @example onlyGivesBack({ units: 0, ttlMs: 2000, refunds: [refund] }, { granted: 0, ... }) // true
 */
export function onlyGivesBack(
  ask: Pick<LeaseAsk, 'debt' | 'failedOpen'>,
  grant: Pick<LeaseGrant, 'granted'>,
): boolean {
  return (ask.debt ?? 0) <= 0 && !ask.failedOpen?.length && grant.granted <= 0;
}

/** What the alarm plan looks at. */
export interface SaveState {
  readonly now: number;
  /** When the first change not in storage was made; `null` when storage is current. */
  readonly unsavedSince: number | null;
  /** When the first change not in Redis was made (hybrid); `null` when Redis is current. */
  readonly unsentSince: number | null;
  /** After a failed send: when to try again (instead of an interval after `unsentSince`). */
  readonly retryAt?: number | null;
  /** Epoch ms from which nothing held counts (`-Infinity`: nothing held). */
  readonly expiresAt: number;
  /** Snapshot rows in storage. */
  readonly rows: number;
}

/**
 * The alarm the object wants: a save {@link SAVE_INTERVAL_MS} after the oldest change not saved
 * (or not sent to Redis); at once when rows are left of an identity that holds nothing; else none.
 *
 * There is no sweep alarm for an identity gone quiet: its snapshot row stays until its next save,
 * which drops what stopped counting (a cold instance reads expired cells as nothing). A sweep
 * alarm set after each save was a row written per batch, and brought forward by the next change
 * another one (`npm run sim`: a third of all rows written), to delete a row of a few hundred
 * bytes that costs far less to keep: an object's SQLite database takes about 12 KB whatever it
 * holds, until `deleteAll()`, and storage is billed per GB-month.
 */
export function wantedAlarm(s: SaveState): number | null {
  const save = s.unsavedSince === null ? Infinity : s.unsavedSince + SAVE_INTERVAL_MS;
  const send = s.unsentSince === null ? Infinity : (s.retryAt ?? s.unsentSince + SAVE_INTERVAL_MS);
  const due = Math.min(save, send);
  if (due !== Infinity) return Math.max(s.now, due);
  return s.expiresAt === Number.NEGATIVE_INFINITY && s.rows > 0 ? s.now : null;
}

/** Whether `wanted` should replace the alarm set (`null` = none): only ever brought forward. */
export function bringsForward(current: number | null, wanted: number): boolean {
  return current === null || current > wanted;
}
