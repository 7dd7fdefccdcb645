/**
 * Concurrency slots (pure): at most `limit` requests of one identity in flight at once. A slot is
 * a cell whose name is the request's token and whose value is the epoch ms its lease ends, so a
 * slot whose request never gives it back (its isolate died) frees itself when the lease ends.
 */

import type { Cells } from '../../algorithm';
import { type WindowSpec, type WindowState, windowState } from '../../contract';

/**
 * The longest a refused request is told to wait: a slot frees whenever any request in flight
 * ends, which cannot be known in advance, so a refusal promises a retry within a second at most.
 */
export const SLOT_RETRY_MS = 1_000;

/** Drops slots whose lease has ended at `now`. Mutates `cells`; returns the tokens dropped. */
export function expireSlots(cells: Cells, now: number): number[] {
  const dropped: number[] = [];
  for (const [token, until] of cells) {
    if (until <= now) {
      cells.delete(token);
      dropped.push(token);
    }
  }
  return dropped;
}

/** Slots held at `now` and the end of the soonest lease (`Infinity` when none is held). */
export function heldSlots(cells: Cells, now: number): { held: number; soonestEnd: number } {
  let held = 0;
  let soonestEnd = Number.POSITIVE_INFINITY;
  for (const until of cells.values()) {
    if (until <= now) continue;
    held++;
    if (until < soonestEnd) soonestEnd = until;
  }
  return { held, soonestEnd };
}

/**
 * When a request refused at `now` may try again: within {@link SLOT_RETRY_MS}, or when the
 * soonest lease ends if that is sooner. `now` when a slot is free.
 */
export function slotRetryAt(spec: WindowSpec, held: number, soonestEnd: number, now: number) {
  if (held < spec.limit) return now;
  return Math.min(now + SLOT_RETRY_MS, soonestEnd);
}

/**
 * The state of a concurrency limit: `used` is the requests in flight (this one included when it
 * took a slot); `resetAt` is the retry time while full, else `now`.
 */
export function slotState(
  spec: WindowSpec,
  used: number,
  retryAt: number,
  now: number,
): WindowState {
  return windowState(spec, used, retryAt, Math.max(retryAt, now));
}
