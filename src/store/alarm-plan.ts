/**
 * When the hot cache's alarm should fire next (pure). Redis is only ever called from the alarm,
 * never from a request: a full write-behind batch brings the alarm forward to now. (Network calls
 * from request handling would contend with the stream of requests for the object's gates; the
 * alarm is its own event, retried if it fails.)
 */
import { FLUSH_INTERVAL_MS, FLUSH_UNITS } from './write-behind';

/** With nothing pending, a window's cells are swept this long after it could have expired. */
const SWEEP_GRACE_MS = 60_000;
/** The latest a sweep is put off to. */
const MAX_SWEEP_DELAY_MS = 3_600_000;

/** The alarm a commit wants: a flush when deltas wait, else a sweep after the longest window. */
export function alarmAfterCommit(
  now: number,
  queuedDeltas: boolean,
  pendingUnits: number,
  longestWindowMs: number,
): number {
  if (!queuedDeltas) return now + Math.min(longestWindowMs + SWEEP_GRACE_MS, MAX_SWEEP_DELAY_MS);
  return pendingUnits >= FLUSH_UNITS ? now : now + FLUSH_INTERVAL_MS;
}

/** The alarm after an alarm ran: a flush if deltas still wait, a sweep if windows remain, or none. */
export function alarmAfterAlarm(
  now: number,
  pendingUnits: number,
  windowsLeft: number,
): number | null {
  if (pendingUnits) return now + (pendingUnits >= FLUSH_UNITS ? 0 : FLUSH_INTERVAL_MS);
  return windowsLeft ? now + SWEEP_GRACE_MS : null;
}

/** Whether `wanted` should replace the alarm set (`null` = none): only ever brought forward. */
export function bringsForward(current: number | null, wanted: number): boolean {
  return current === null || current > wanted;
}
