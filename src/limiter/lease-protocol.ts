/**
 * What an isolate and the identity's Durable Object say to each other in the `fast` consistency
 * mode; how a grant is computed is the algorithm's (see `algorithm.ts`).
 */
import type { CheckOutcome } from './contract';

/** What an isolate asks for when it needs a new lease. */
export interface LeaseAsk {
  readonly units: number;
  /** How long the isolate may use the units, from before it sent the ask. */
  readonly ttlMs: number;
  /** What became of the previous lease (see {@link LeaseRefund}). */
  readonly refund?: LeaseRefund;
  /**
   * Further leases settled by this ask (each as `refund`): with refills before a lease runs out,
   * an isolate may have both a replaced lease and an expired one to settle.
   */
  readonly refunds?: readonly LeaseRefund[];
  /**
   * Units the isolate already allowed without a lease (optimistically, within the bound of
   * `store/lease-rules.ts`) and not yet reported. The object records them at its own `now`,
   * whatever the windows say (they were served), before it grants anything.
   */
  readonly debt?: number;
  /**
   * Units the isolate let pass, uncounted, because the object did not answer in time and the
   * policy fails open (see {@link FailedOpen}). The object records each group where it was
   * served, forced, so that what passed while it was slow or down still counts against the
   * window it passed in.
   */
  readonly failedOpen?: readonly FailedOpen[];
}

/**
 * Units that failed open at `at`, epoch ms on the isolate's clock. The one time of day in this
 * protocol (refunds carry durations instead): a duration would be read on the object's clock when
 * the ask is served, after its round trip and any queue in front of a busy object (up to a
 * second), and units counted that much later than they passed reject the requests a window frees
 * room for then. Between Cloudflare's machines the clocks agree within milliseconds; an isolate's
 * clock behind the object's by that much counts them that much early. The object clamps `at` to
 * its own now.
 */
export interface FailedOpen {
  readonly units: number;
  readonly at: number;
}

/** Most groups of failed-open units one ask carries; the object reads no more. */
export const MAX_FAILED_OPEN_GROUPS = 64;

/**
 * The previous lease, settled with the next ask: its unused units go back, and its used units
 * move from the lease's end to the last instant they can have been used. That instant comes from
 * a duration the isolate measured on its own clock (`usedWithinMs` after it sent its ask), added
 * to the object's own grant time, so the two clocks never need to agree on the time of day.
 */
export interface LeaseRefund {
  /** Units never used. */
  readonly units: number;
  /** Where the lease was recorded (`LeaseGrant.at`). */
  readonly at: number;
  /** Units used, and how long after sending its ask the isolate used the last of them. */
  readonly used?: number;
  readonly usedWithinMs?: number;
  /** The lease's `ttlMs`: `at - ttlMs` is when the object granted it. */
  readonly ttlMs?: number;
  /**
   * The used units by when they were used, for a lease used over a long span (see
   * {@link UsedPart}): each part moves to its own last instant instead of all to the last use.
   * Units of `used` no part holds stay at the last use.
   */
  readonly usedParts?: readonly UsedPart[];
}

/**
 * Units of a lease all used within `withinMs` after its ask was sent (the isolate's clock, a
 * duration, as `usedWithinMs`). Why: a busy isolate uses a lease for seconds before it settles
 * it, and units counted at the last use stay in their window up to that long after the exact log
 * frees them; near a large limit that lag refuses requests the window has room for.
 */
export interface UsedPart {
  readonly units: number;
  readonly withinMs: number;
}

/** Most parts one settlement carries; the object reads no more. */
export const MAX_USED_PARTS = 32;

/**
 * The answer: `granted` units, recorded at `at`. `granted = 0` is a rejection, unless
 * `outcome.allowed` says there is room (an ask for 0 units, carrying only debt or refunds).
 */
export interface LeaseGrant {
  readonly granted: number;
  readonly at: number;
  readonly outcome: CheckOutcome;
  /**
   * A window full at the grant: the units are ones that leave it within this many ms after the
   * grant, and may be used only from then (counted from the isolate's landing, which comes after
   * the grant) until the ask's `ttlMs` after that. Absent: usable at once.
   */
  readonly fromMs?: number;
}
