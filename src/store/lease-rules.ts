/**
 * The isolate's rules for `fast` leases (pure): how fast an identity is used here, how much to
 * ask for, when to refill, and when a request may be allowed optimistically without a lease.
 * `lease-store.ts` holds the state and does the I/O; every number it decides by comes from here.
 */
import type { CheckOutcome } from '../limiter/contract';
import type { UsedPart } from '../limiter/lease-protocol';

/**
 * How long a lease may be used [2,000 ms]. Longer means fewer renewals per isolate (the big
 * customer's object sees about one per isolate per `ttl / 2`), but units leased and unused stay
 * counted at the object until the next ask returns them, which can reject early near the limit.
 */
export const LEASE_TTL_MS = 2_000;

/**
 * Lease ttl near the limit [500 ms]: once the object's last answer shows a window with little
 * room (see {@link leaseTtl}), units leased and unused must come back soon, or other isolates
 * are refused units nobody uses. A shorter lease costs more renewals, but near the limit the
 * object grants a quarter of what is left anyway, and a lease that short is refilled half used.
 */
export const NEAR_LIMIT_TTL_MS = 500;

/** A window is near its limit below this share of it left [1/4] ... */
export const NEAR_LIMIT_SHARE = 1 / 4;

/**
 * ... or below this many units left, whichever is fewer [1,000], unless the window fills faster
 * (see {@link NEAR_LIMIT_FILL_MS}).
 */
export const NEAR_LIMIT_ROOM = 1_000;

/**
 * A window is also near its limit while it has less room than it fills in this long [10,000 ms]
 * (still below a quarter of its limit). What the isolates hold in leases and what their settled
 * leases still count late (used units are moved to the last use) are each worth about two
 * seconds of the window's fill: for a limit in the millions that is tens of thousands of units,
 * so by {@link NEAR_LIMIT_ROOM} alone the object was refusing while the window's real use was
 * 96% of its limit. Measured in docs/simulation.md (`--big-limit`).
 */
export const NEAR_LIMIT_FILL_MS = 10_000;

/**
 * Room every window must have left for a longer lease [50,000 units]: only a very large limit
 * (the simulation's 1.5 million a minute customer) has it, and there a lease's unused units are
 * a sliver of what is left, while its object answers one refill per isolate per half ttl.
 */
export const ROOMY_ROOM = 50_000;

/**
 * Lease ttl where every window has {@link ROOMY_ROOM} left, as a multiple of `ttlMs` [4: 8 s].
 * Measured (`npm run sim -- --modes fast`, seed 1, 90 s): the big customer's object about 200
 * -> about 100 requests a second once warm; with `--isolates 16` about 800 -> 380 (its first
 * seconds, before any answer showed the room, stay at one ask per isolate); see
 * docs/simulation.md.
 */
export const ROOMY_TTL_FACTOR = 4;

/**
 * The ttl of the next lease of an identity: {@link NEAR_LIMIT_TTL_MS} when the object's last
 * answer showed a window with fewer than `min(limit * NEAR_LIMIT_SHARE, max(NEAR_LIMIT_ROOM,
 * fill rate * NEAR_LIMIT_FILL_MS))` units left (a refusal included); `ttlMs * ROOMY_TTL_FACTOR` when every window had at least
 * {@link ROOMY_ROOM} left; else `ttlMs`. Nothing known yet: `ttlMs`.
 * @example leaseTtl(answerOf(outcomeWith({ limit: 100, remaining: 20 }), at)) // 500
 */
export function leaseTtl(answer: Answer | undefined, ttlMs = LEASE_TTL_MS, shards = 1): number {
  if (!answer) return ttlMs;
  const near = answer.windows.some(
    (w) =>
      w.remaining <
      Math.min(
        w.limit * NEAR_LIMIT_SHARE,
        Math.max(NEAR_LIMIT_ROOM, w.fillRate * NEAR_LIMIT_FILL_MS),
      ),
  );
  if (near) return Math.min(ttlMs, NEAR_LIMIT_TTL_MS);
  const roomy =
    answer.windows.length > 0 && answer.windows.every((w) => w.remaining * shards >= ROOMY_ROOM);
  return roomy ? ttlMs * ROOMY_TTL_FACTOR : ttlMs;
}

/**
 * A short lease ttl's floor, as a multiple of the round trip this isolate last measured to the
 * identity's object [4]: a lease is used from its ask's sending, so one whose ttl is not well
 * above the round trip lands with little of it left, and its refill (at half the ttl, one ask in
 * flight at a time) lands after it ended: an isolate far from the object waited for every lease.
 */
export const RTT_TTL_FACTOR = 4;

/**
 * `leaseTtlMs` (from {@link leaseTtl}) raised to `RTT_TTL_FACTOR` times the round trip `rttMs`,
 * but no higher than `ttlMs`: only the near-limit ttl of an isolate far from the object changes.
 * @example rttTtl(500, 300) // 1200
 */
export function rttTtl(leaseTtlMs: number, rttMs: number, ttlMs = LEASE_TTL_MS): number {
  if (!(rttMs > 0) || leaseTtlMs >= ttlMs) return leaseTtlMs;
  return Math.max(leaseTtlMs, Math.min(ttlMs, Math.ceil(RTT_TTL_FACTOR * rttMs)));
}

/**
 * The ttl a first ask asks for (nothing known of the identity here): `ttlMs * ROOMY_TTL_FACTOR`
 * when every window's limit is at least {@link ROOMY_ROOM}, so that it may have that room; else
 * `ttlMs`. The lease it brings is used only as long as its own answer allows
 * ({@link usableSpan}). With every first lease 2 s, every isolate that met a large identity at
 * once (a deploy: each isolate starts cold) refilled it one second later, all in the same second.
 * @example firstAskTtl([{ limit: 1_500_000 }]) // 8000
 */
export function firstAskTtl(
  windows: readonly { readonly limit: number }[],
  ttlMs = LEASE_TTL_MS,
  shards = 1,
): number {
  const roomy = windows.length > 0 && windows.every((w) => w.limit * shards >= ROOMY_ROOM);
  return roomy ? ttlMs * ROOMY_TTL_FACTOR : ttlMs;
}

/**
 * How long a granted lease may be used from its ask's sending: the ttl its ask asked for
 * (`askedMs`), cut to what the answer it brought allows ({@link leaseTtl}) when it asked for
 * longer than `ttlMs`. Using a lease for less than the object counted it for keeps the bound:
 * its units are recorded at the end of what was asked, after every use.
 * @example usableSpan(8_000, answerOf(outcomeWith({ limit: 1_500_000, remaining: 30_000 }), at)) // 2000
 */
export function usableSpan(
  askedMs: number,
  answer: Answer | undefined,
  ttlMs = LEASE_TTL_MS,
  shards = 1,
): number {
  return askedMs > ttlMs ? Math.min(askedMs, leaseTtl(answer, ttlMs, shards)) : askedMs;
}

/** Range of the share of a long first lease at which it is refilled [1/4 to 3/4]. */
export const BLIND_REFILL_SHARE = { min: 1 / 4, max: 3 / 4 } as const;

/** When a lease is refilled whatever the rate says (see {@link belowLowWater}). */
export interface RefillPlan {
  /** Units used. */
  readonly atUsed: number;
  /** Time since its ask was sent. */
  readonly afterMs: number;
}

/**
 * When a lease usable for `spanMs` is refilled whatever the rate says: half used or half its
 * span gone, for a span of at most `ttlMs`. For a longer one (a window with much room): when its
 * ask was sized by the rate, never for units used (it is refilled once they run low against the
 * rate, about every 3.5 s instead of every 2 s) and half a `ttlMs` before its end; when it was
 * not (a first lease, sized before any rate was seen), at a share drawn by `random` from
 * {@link BLIND_REFILL_SHARE} of its units or of its span, whichever comes first: so that the
 * isolates that met the identity together (a deploy starts every isolate cold) ask again spread
 * over seconds, not in one (measured: the 20,000 requests/s customer's object, 800 isolates).
 * @example refillPlan(300, 8_000, true) // { atUsed: Infinity, afterMs: 7_000 }
 */
export function refillPlan(
  size: number,
  spanMs: number,
  sizedByRate: boolean,
  random: () => number = Math.random,
  ttlMs = LEASE_TTL_MS,
): RefillPlan {
  if (spanMs <= ttlMs) return { atUsed: size / 2, afterMs: spanMs / 2 };
  if (sizedByRate) return { atUsed: Number.POSITIVE_INFINITY, afterMs: spanMs - ttlMs / 2 };
  const { min, max } = BLIND_REFILL_SHARE;
  const share = min + random() * (max - min);
  return { atUsed: size * share, afterMs: spanMs * share };
}

/**
 * Whether a lease a refill replaced serves on first (`units` left, `spanLeftMs` of its span left,
 * this isolate using the identity at `rate` units per ms): only when the isolate will use those
 * units before the span ends. A refill that came as the units ran low leaves a few (about
 * `LOW_WATER_MS` of the rate): served first, they are used instead of held unused until the next
 * ask settles them. One that came at half the span (a lease sized for longer than it lasts) leaves
 * more than the span can use: serving them first would only age the new lease unused, so that
 * lease is retired as before.
 * @example servesFirst(40, 0.1, 1_000) // true: 40 units, 100 more at 100 a second
 */
export function servesFirst(units: number, rate: number, spanLeftMs: number): boolean {
  return units > 0 && spanLeftMs > 0 && units <= rate * spanLeftMs;
}

/**
 * Parts of a lease's usable span its used units are reported in [16] (`LeaseRefund.usedParts`):
 * each part's units count from the part's end instead of from the last use, so a busy lease's
 * units leave their window at most a sixteenth of its span (125 ms of a 2 s lease, 500 ms of an
 * 8 s one) after the exact log frees them.
 */
export const USED_PARTS = 16;

/**
 * Fewest used units for which a settlement reports parts [64]: below it (every small limit, and
 * a quiet isolate) the units stay at the last use as before. Measured for small limits, reporting
 * parts freed room early that was leased again and held unused elsewhere (docs/simulation.md).
 */
export const PARTS_MIN_USED = 64;

/**
 * The part of a lease's span a use at `at` falls in: `USED_PARTS` equal parts of
 * `[sentAt, usableUntil)`, a use past the end in the last.
 * @example usedPartIndex(0, 8_000, 2_500) // 5
 */
export function usedPartIndex(sentAt: number, usableUntil: number, at: number): number {
  const index = Math.floor((at - sentAt) / partWidth(usableUntil - sentAt));
  return Math.max(0, Math.min(USED_PARTS - 1, index));
}

/** Width of one of a span's `USED_PARTS` parts, ms (a span under 1 ms counts as 1). */
const partWidth = (spanMs: number): number => Math.max(1, spanMs) / USED_PARTS;

/**
 * The parts a settlement reports for `counts` (units used per part, see {@link usedPartIndex}):
 * none below `PARTS_MIN_USED` used units; else each non-empty part with the end of its part as
 * the latest use, no later than the last use (`lastUseMs`, after sending).
 */
export function usedParts(
  counts: readonly number[],
  spanMs: number,
  lastUseMs: number,
): UsedPart[] | undefined {
  const used = counts.reduce((sum, n) => sum + n, 0);
  if (used < PARTS_MIN_USED) return undefined;
  const width = partWidth(spanMs);
  return counts.flatMap((units, i) =>
    units > 0 ? [{ units, withinMs: Math.min(lastUseMs, Math.ceil((i + 1) * width)) }] : [],
  );
}

/**
 * Most leases that expired with unused units one request returns to their objects [4], for
 * whichever identities they are (see `lease-store.ts`): one object call each, in the
 * background, so a busy isolate returns what it strands about as fast as it strands it.
 */
export const MAX_RETURNS_PER_REQUEST = 4;

/**
 * How long a renewal may take before it is given up [1,000 ms]: far above a p99 cross-location
 * round trip (about 200 ms), below the lease ttl so a late grant still lands usable. Only a
 * request that has nothing to decide from waits for it, and then only the store budget.
 */
export const RENEWAL_BUDGET_MS = 1_000;

/**
 * After an ask that carried units this isolate let pass uncounted (debt, failed open) fails,
 * when they are sent again if no request for the identity comes first [1,000 ms]: by the
 * isolate's next request for any identity, or its return timer. Without it they waited for the
 * identity's next request here, and an identity that sent none was never charged for them.
 */
export const OWED_RETRY_MS = 1_000;

/**
 * Refill horizon [500 ms]: a renewal starts in the background once the lease holds fewer units
 * than this isolate uses in that time (or has less than half its time left), so that a renewal
 * as slow as a p99 round trip, twice over, lands before the lease runs dry.
 */
export const LOW_WATER_MS = 500;

/** An ask covers this many times what the observed rate uses in one ttl [2]. */
export const ASK_HEADROOM = 2;

/**
 * Share of a window's limit that the leases of all isolates together should hold at once
 * [1/50]. Units leased and not yet used are counted at the object as used, and so are the
 * leases of isolates that went away (until they leave the window): near the limit they are
 * refused to requests the exact log would allow. Each isolate holds about what one ask carries,
 * and all isolates together fill a window at its fill rate, so asks of `S` ms of each isolate's
 * rate hold about `S * fill rate` units between them (see {@link heldSpanMs}).
 */
export const HELD_SHARE = 1 / 50;

/**
 * Longest span of this isolate's rate one ask may carry (ms) so that what all isolates hold
 * stays near `share` of every window's limit: `share * limit / fill rate`, the least over the
 * last answer's windows; `Infinity` with no answer or no fill. The 20,000 requests/s customer
 * near its limit (5,000 a second on each shard of 312,500 a minute) gets 1,250 ms: 125 units an
 * ask for an isolate at 100 requests/s, where two ttls of its rate were 400. Measured (`npm run
 * sim -- --modes fast --big-limit 1250000`, seed 1): before, what the isolates held filled its
 * windows while its real use was 93% of the limit, and it was refused 45,980 of 1.8 M requests
 * (0 by the exact log); with 1/50 9,800 (1/100: 7,235, but more object calls in the default
 * scenario and more wrong decisions there). An identity whose window fills by less than half a
 * percent of its limit a second keeps its asks.
 * @example heldSpanMs(answerOf(outcomeWith({ limit: 312_500, used: 300_000 }), at)) // 1250 (over 60 s)
 */
export function heldSpanMs(answer: Answer | undefined, share = HELD_SHARE): number {
  let span = Number.POSITIVE_INFINITY;
  for (const w of answer?.windows ?? []) {
    if (w.fillRate > 0) span = Math.min(span, (share * w.limit) / w.fillRate);
  }
  return span;
}

/**
 * Span of the observed rate an ask carries (ms): {@link ASK_HEADROOM} times the lease's ttl (at
 * most `ttlMs`: a longer lease is refilled as its units run low, not asked for larger), at most
 * {@link heldSpanMs}.
 * @example askSpanMs(2_000, undefined) // 4000
 */
export function askSpanMs(
  leaseTtlMs: number,
  answer: Answer | undefined,
  ttlMs = LEASE_TTL_MS,
): number {
  return Math.min(ASK_HEADROOM * Math.min(leaseTtlMs, ttlMs), heldSpanMs(answer));
}

/**
 * Low-water span of a lease usable for `spanMs` (see {@link belowLowWater}): {@link LOW_WATER_MS},
 * but at most half the span and half what an ask may carry ({@link askSpanMs}), so that a short
 * or small lease is not asked again as soon as it lands.
 */
export function lowWaterMs(spanMs: number, answer: Answer | undefined): number {
  return Math.min(LOW_WATER_MS, spanMs / 2, heldSpanMs(answer) / 2);
}

/** Most units one ask may carry [10,000]; the object grants at most a quarter of what is left. */
export const MAX_ASK_UNITS = 10_000;

/** Time constant of the rate estimate [1,000 ms]. */
export const RATE_TAU_MS = 1_000;

/** Most units one isolate takes optimistically per identity between two answers [8]. */
export const OPTIMISM_MAX_UNITS = 8;

/** ... and at most this share of the last answer's smallest remaining [1/8]. */
export const OPTIMISM_SHARE = 1 / 8;

/**
 * An answer is recent enough for optimism for this share of the shortest window [1/2] ... The
 * bound does not depend on it (it is the per-isolate allowance); age only makes the projection
 * less sure. Measured (15 s sim): 1/10 and 10 s left anonymous/free p99 at 30/22 ms (identities
 * seen every few seconds waited a round trip each time); 1/2 and 30 s: 2.2/2.4 ms, wrong
 * decisions unchanged (1.32% either way).
 */
export const OPTIMISM_FRESH_SHARE = 1 / 2;

/** ... and never longer than this [30,000 ms]. */
export const OPTIMISM_FRESH_MS = 30_000;

/**
 * Room a window must still have after the projection (see {@link optimismAllowance}), as a
 * share of its limit [0]: the allowance never exceeds the projected room, and the per-isolate
 * bound does not depend on this margin. Measured (`npm run sim -- --modes fast`, seed 1, 90 s):
 * a margin of 1/4 made 25,206 requests wait over 1 ms (p99 2.14 ms) for 0.607% wrong
 * decisions; 1/8: 23,346 (2.06 ms), 0.608%; 0: 21,607 (1.95 ms), 0.576%. Waiting near the limit
 * bought no accuracy: the overshoot was 0.28% in all three, and a wait that ends in a refusal
 * refused units other isolates held unused.
 */
export const OPTIMISM_MARGIN_SHARE = 0;

/**
 * Exponentially decaying rate estimate, units per ms: each use adds `1 / tau` and the estimate
 * decays by `exp(-dt / tau)` in between, so a steady rate `r` settles near `r + 1 / (2 tau)` and an
 * identity that stops being used fades within a few `tau`. The first use gives `1 / tau`.
 * @example observeRate(0, 0, 1000, 1000) // 0.001 (one unit per second)
 */
export function observeRate(
  rate: number,
  lastAt: number,
  now: number,
  tauMs = RATE_TAU_MS,
): number {
  const dt = Math.max(0, now - lastAt);
  return rate * Math.exp(-dt / tauMs) + 1 / tauMs;
}

/**
 * Units to ask for: what `ratePerMs` uses in one ttl, times the headroom, at least 1 and at most
 * `maxUnits`. A first ask (rate `1 / tau`) is 4 units at the defaults.
 * @example askUnits(0.1, 2000) // 400: an isolate seeing 100 requests/s
 */
export function askUnits(
  ratePerMs: number,
  ttlMs: number,
  maxUnits = MAX_ASK_UNITS,
  headroom = ASK_HEADROOM,
): number {
  return Math.max(1, Math.min(maxUnits, Math.ceil(ratePerMs * ttlMs * headroom)));
}

/**
 * Units the ask a request starts should carry after this isolate went `quietMs` without a request
 * for the identity: `undefined` (sized by the rate, {@link askUnits}) unless the spell was longer
 * than the lease would last (`leaseTtlMs`). Then the isolate is unlikely to serve the identity
 * again within the lease, and what it leased would sit unused until the lease ended, counted at
 * the object and refused to other isolates meanwhile: ask only for what this request takes, one
 * unit when it `waits` for the ask, none when it was answered without it (the ask then only
 * reports debt, settles, and brings a fresh answer); and no refill once that unit is used.
 * Measured (`npm run sim -- --modes fast`, seeds 1 / 2 / 3): wrong decisions 0.3770% / 0.4712% /
 * 0.8325% -> 0.3560% / 0.4442% / 0.6774% (false rejections 0.0778% -> 0.0500% at seed 1), object
 * requests per request 0.1176 -> 0.1059 (seed 1).
 * @example quietAskUnits(3_000, 2_000, false) // 0
 */
export function quietAskUnits(
  quietMs: number,
  leaseTtlMs: number,
  waits: boolean,
): number | undefined {
  if (!(quietMs > leaseTtlMs)) return undefined;
  return waits ? 1 : 0;
}

/** Requests after which the rate estimate is trusted over short spans [8]. */
export const RATE_TRUSTED_AFTER = 8;

/**
 * The rate estimate of an identity first seen `sinceMs` ago, corrected for starting at 0 (as a
 * bias-corrected moving average is): a steady rate is seen at once instead of after a few
 * `tau`. The correction is capped: `sinceMs` counts as at least `tau / 2` until `seen` reaches
 * RATE_TRUSTED_AFTER requests (two requests in a row are no flood: about 5 units per second),
 * `tau / 20` after (a stream of 100 requests/s is seen as such within its first 100 ms, so the
 * lease the first answer is followed by fits it).
 */
export function correctedRate(
  rate: number,
  sinceMs: number,
  seen = 0,
  tauMs = RATE_TAU_MS,
): number {
  const floor = seen >= RATE_TRUSTED_AFTER ? tauMs / 20 : tauMs / 2;
  return rate / (1 - Math.exp(-Math.max(sinceMs, floor) / tauMs));
}

/**
 * Whether a lease in use should be refilled now: fewer units left than `ratePerMs` uses in
 * `lowWaterMs`, or past its refill plan (half of it used: a lease sized while the rate was still
 * unknown runs out fast; or half of `ttlMs` left; or the lease's own `refill`, see
 * {@link refillPlan}). A lease the object cut short (`capped`: it grants at most a
 * quarter of what is left) is not refilled for being small against the rate: asking again at once
 * would only trade it for another quarter of what is left, one call per round trip per isolate
 * (measured: a burst identity's object, 4 isolates at 800 requests/s each near the limit, 790
 * requests in one second); it is refilled half used.
 */
export function belowLowWater(
  lease: {
    readonly units: number;
    readonly size: number;
    readonly usableUntil: number;
    /** The object granted fewer units than were asked for. */
    readonly capped?: boolean;
    /** Units used, and the instant, past which it is refilled anyway. */
    readonly refill?: { readonly atUsed: number; readonly at: number };
  },
  ratePerMs: number,
  now: number,
  ttlMs: number,
  lowWaterMs = LOW_WATER_MS,
): boolean {
  const atUsed = lease.refill?.atUsed ?? lease.size / 2;
  const at = lease.refill?.at ?? lease.usableUntil - ttlMs / 2;
  return (
    (!lease.capped && lease.units < ratePerMs * lowWaterMs) ||
    lease.size - lease.units >= atUsed ||
    now > at
  );
}

/** One window of the object's last answer, as optimism needs it. */
export interface AnsweredWindow {
  readonly limit: number;
  readonly windowMs: number;
  /** Units left for everybody after the answer (this isolate's lease excluded). */
  readonly remaining: number;
  /**
   * Units per ms the window was filled at: what it counts over the time since its oldest
   * counted unit. Every isolate's use is in it, not only this one's.
   */
  readonly fillRate: number;
}

/** The object's last answer for one identity, on this isolate's clock. */
export interface Answer {
  readonly at: number;
  readonly windows: readonly AnsweredWindow[];
  readonly outcome: CheckOutcome;
}

/**
 * Shortest span a window's fill rate is measured over [1,000 ms]: leased units are recorded at
 * the lease's end, so the oldest counted unit may lie in the future, and a handful of units
 * over a few ms is no rate.
 */
export const FILL_SPAN_MIN_MS = 1_000;

/** Digests a lease answer (`outcome` from the object, received at `at` on this isolate's clock). */
export function answerOf(outcome: CheckOutcome, at: number): Answer {
  return {
    at,
    outcome,
    windows: outcome.windows.map((w) => {
      // resetAt is when the oldest counted unit leaves: that unit is windowMs older.
      const since = outcome.now - (w.resetAt - w.windowMs);
      return {
        limit: w.limit,
        windowMs: w.windowMs,
        remaining: w.remaining,
        fillRate: w.used > 0 ? w.used / Math.max(FILL_SPAN_MIN_MS, since) : 0,
      };
    }),
  };
}

/**
 * Whether an answer is recent enough to act on without asking again: younger than
 * `min(OPTIMISM_FRESH_MS, shortest window * OPTIMISM_FRESH_SHARE)` (30 s for a minute window).
 */
export function isFresh(answer: Answer, now: number): boolean {
  const age = now - answer.at;
  const shortest = Math.min(...answer.windows.map((w) => w.windowMs));
  return age >= 0 && age <= Math.min(OPTIMISM_FRESH_MS, shortest * OPTIMISM_FRESH_SHARE);
}

/**
 * Whether a recent refusal still holds at `now`: the object refused, the answer is fresh, and
 * some window said it stays full past `now`. Such a request is rejected at once, without waiting
 * for the renewal that checks again (refunds may have freed room meanwhile: that renewal's
 * answer is for the next requests).
 */
export function refusalHolds(answer: Answer | undefined, now: number): boolean {
  if (!answer || answer.outcome.allowed || !isFresh(answer, now)) return false;
  return answer.outcome.windows.some((w) => w.remaining <= 0 && w.retryAt > now);
}

/**
 * How many units this isolate may take optimistically (without a lease, reported later as debt)
 * between the answer `answer` and the next one; 0 when it must wait. The rule, per identity and
 * isolate:
 * - no answer (see {@link firstContactAllowance} for that case), or one older than
 *   `min(OPTIMISM_FRESH_MS, shortest window * OPTIMISM_FRESH_SHARE)`: 0;
 * - every window, projected forward at its fill rate from the answer to `horizonMs` past now
 *   (the debt's way to the object), must keep at least `OPTIMISM_MARGIN_SHARE` of its limit;
 * - then at most `min(OPTIMISM_MAX_UNITS, floor(smallest remaining * OPTIMISM_SHARE))`, and
 *   never more than the smallest projected room.
 * The bound this gives (with the first-contact allowance, and because units taken while a
 * renewal flies still count against the next answer's allowance): at any instant one isolate
 * holds at most `OPTIMISM_MAX_UNITS` (8) optimistic units per identity that the object has not
 * yet counted, so any window holds at most `limit + 8 * (isolates serving the identity)`, and
 * at most `limit + max(1, floor(limit / 8)) * isolates` for limits up to 64.
 */
export function optimismAllowance(
  answer: Answer | undefined,
  now: number,
  horizonMs: number,
): number {
  if (!answer || answer.windows.length === 0) return 0;
  if (!isFresh(answer, now)) return 0;
  const age = now - answer.at;
  let allowance = OPTIMISM_MAX_UNITS;
  for (const w of answer.windows) {
    const projected = w.remaining - w.fillRate * (age + horizonMs);
    if (projected < w.limit * OPTIMISM_MARGIN_SHARE) return 0;
    allowance = Math.min(
      allowance,
      Math.floor(w.remaining * OPTIMISM_SHARE),
      Math.floor(projected),
    );
  }
  return Math.max(0, allowance);
}

/**
 * Units an isolate may take optimistically on an answer past its freshness (see
 * {@link isFresh}): such an answer says about as little as none, so the first-contact allowance
 * applies, but never more than the room it showed: an answer that allowed the window's last unit
 * or refused gives 0 (the request waits for the object).
 * @example staleAllowance(answerOf(outcome, at), at + 40_000, windows) // 1 when it showed room
 */
export function staleAllowance(
  answer: Answer | undefined,
  now: number,
  windows: readonly { readonly limit: number }[],
): number {
  if (!answer?.outcome.allowed || isFresh(answer, now)) return 0;
  const room = Math.min(...answer.windows.map((w) => w.remaining));
  return Math.max(0, Math.min(firstContactAllowance(windows), room));
}

/** A first contact may take one unit per this many units of its smallest limit [1,000]. */
export const FIRST_CONTACT_MIN_LIMIT = 1_000;

/**
 * Most units a first contact may take [32]: a tenth of a percent of a limit of 32,000 or more
 * per isolate. Measured (`npm run sim -- --modes fast`, seed 1, 90 s): at 8 (the answer-based
 * cap) the 20,000 requests/s customer waited over 1 ms 1,932 times, every isolate start at
 * 100 requests/s outrunning its 8 units before the first answer came back (40 ms median,
 * 200 ms p99), which kept the fleet's p99 at 1.99 ms and its object at 509 requests in its
 * first second; at 32: 34 waits, p99 0.86 ms, 449 requests, wrong decisions unchanged.
 */
export const FIRST_CONTACT_MAX_UNITS = 32;

/**
 * Units an isolate may take optimistically for an identity it has no answer for yet (a first
 * contact): `min(FIRST_CONTACT_MAX_UNITS, max(1, floor(smallest limit / 1,000)))`, i.e. 1 for
 * the free and anonymous tiers, 10 for 10,000, 32 for 32,000 and above. Without it every
 * identity's first request in every isolate waits a round trip to its object (callers away from
 * the object's location see 40 ms median, 200 ms p99 in the simulation), and a timed-out first
 * request fails open anyway. The price: one unit per 1,000 of the limit (at most 32) per isolate
 * that meets the identity, counted when the first renewal reaches the object.
 * @example firstContactAllowance([{ limit: 100 }]) // 1
 */
export function firstContactAllowance(windows: readonly { readonly limit: number }[]): number {
  if (windows.length === 0) return 0;
  const smallest = Math.min(...windows.map((w) => w.limit));
  return Math.min(
    FIRST_CONTACT_MAX_UNITS,
    Math.max(1, Math.floor(smallest / FIRST_CONTACT_MIN_LIMIT)),
  );
}

/**
 * Share of the smallest limit a first ask may hold [1/5,000]: an isolate that meets the identity
 * once and never again holds 0.02% of its limit unused for a window (200 isolates: 4%).
 */
export const FIRST_ASK_LIMIT_SHARE = 1 / 5_000;

/**
 * Units of a first ask (nothing known of the identity here): 1, so that an isolate meeting a
 * small identity once holds nothing it will not use; for large limits (first-contact allowance
 * above 1) four times that allowance (at most 128), or `FIRST_ASK_LIMIT_SHARE` of the smallest
 * limit if that is more (above 640,000 per window), at most `maxUnits`. A busy identity's first
 * lease then lasts until its refill at half its ttl: 300 units for 1,500,000 a minute, three
 * seconds of 100 requests/s, where 128 would be half used in well under a second and cost each
 * isolate a second ask sized by the rate (measured: the big customer's object, 200 isolates
 * starting together, see docs/simulation.md). For one of `shards` shards of an identity
 * (`shard-store.ts`) the share is of the whole identity's limit: each isolate still serves the
 * whole identity's stream from the one shard it is on.
 */
export function firstAsk(
  windows: readonly { readonly limit: number }[],
  maxUnits = MAX_ASK_UNITS,
  shards = 1,
): number {
  const allowance = firstContactAllowance(windows);
  if (allowance <= 1) return 1;
  const smallest = Math.min(...windows.map((w) => w.limit));
  const share = Math.floor(smallest * shards * FIRST_ASK_LIMIT_SHARE);
  return Math.max(1, Math.min(maxUnits, Math.max(4 * allowance, share)));
}

/**
 * Most units one isolate may hold optimistically for an identity that the object has not
 * counted, at any instant: the larger of the first-contact allowance and the answer-based one at
 * its most (`min(OPTIMISM_MAX_UNITS, floor(smallest limit * OPTIMISM_SHARE))`): 8 for limits
 * from 64 to 8,000, an eighth of smaller limits, one per 1,000 of larger ones (at most 32). A
 * window holds at most its limit plus this many units per isolate serving the identity: the
 * stated bound of `fast` (README, Consistency), which the simulation checks the boundary attacker
 * against.
 * @example optimismBoundPerIsolate([{ limit: 100 }]) // 8
 */
export function optimismBoundPerIsolate(windows: readonly { readonly limit: number }[]): number {
  if (windows.length === 0) return 0;
  const smallest = Math.min(...windows.map((w) => w.limit));
  return Math.max(
    firstContactAllowance(windows),
    Math.min(OPTIMISM_MAX_UNITS, Math.floor(smallest * OPTIMISM_SHARE)),
  );
}
