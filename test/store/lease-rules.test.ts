/** The isolate's lease rules: rate, ask size, low water, and the bound on optimism. */
import { describe, expect, it } from 'vitest';
import type { CheckOutcome } from '../../src/limiter/contract';
import {
  ASK_HEADROOM,
  answerOf,
  askSpanMs,
  askUnits,
  BLIND_REFILL_SHARE,
  belowLowWater,
  correctedRate,
  firstAsk,
  firstAskTtl,
  HELD_SHARE,
  heldSpanMs,
  LEASE_TTL_MS,
  LOW_WATER_MS,
  leaseTtl,
  lowWaterMs,
  MAX_ASK_UNITS,
  NEAR_LIMIT_FILL_MS,
  NEAR_LIMIT_TTL_MS,
  OPTIMISM_MAX_UNITS,
  observeRate,
  optimismAllowance,
  optimismBoundPerIsolate,
  quietAskUnits,
  ROOMY_ROOM,
  ROOMY_TTL_FACTOR,
  RTT_TTL_FACTOR,
  refillPlan,
  refusalHolds,
  rttTtl,
  servesFirst,
  staleAllowance,
  USED_PARTS,
  usableSpan,
  usedPartIndex,
  usedParts,
} from '../../src/store/lease-rules';
import { PINNED_T0 } from '../support/pinned-time';

const T = PINNED_T0;

/** An answer of the object for one window: `used` units since `oldestAgoMs`. */
function outcome(
  limit: number,
  used: number,
  oldestAgoMs: number,
  windowMs = 60_000,
): CheckOutcome {
  return {
    allowed: true,
    now: T,
    windows: [
      {
        id: 'w',
        limit,
        windowMs,
        used,
        remaining: Math.max(0, limit - used),
        retryAt: T,
        resetAt: T - oldestAgoMs + windowMs,
      },
    ],
  };
}

const DAY_MS = 86_400_000;

/** An answer with `used` units of `limit` filled over a whole day: room without a fast fill. */
const filledOverADay = (limit: number, used: number) =>
  answerOf(outcome(limit, used, DAY_MS, DAY_MS), T);

describe('rate and ask size', () => {
  it('grows the ask with the observed rate, well past the old cap of 64', () => {
    let rate = 0;
    let at = T;
    for (let i = 0; i < 300; i++) {
      rate = observeRate(rate, at, at + 10);
      at += 10;
    }
    // 100 requests/s: about 0.1 per ms, a 2 s lease with headroom 2 asks about 400.
    expect(rate).toBeGreaterThan(0.095);
    expect(rate).toBeLessThan(0.11);
    expect(askUnits(rate, 2_000)).toBeGreaterThan(380);
    expect(askUnits(correctedRate(observeRate(0, T, T), 0), 2_000)).toBeLessThanOrEqual(11);
  });

  it('asks 1 unit at a first contact of a small identity, four times its first-contact allowance for a large one (128 at most), 1/5,000 of a very large limit', () => {
    expect(firstAsk([{ limit: 100 }])).toBe(1);
    expect(firstAsk([{ limit: 1_000 }, { limit: 100_000 }])).toBe(1);
    expect(firstAsk([{ limit: 5_000 }])).toBe(20);
    expect(firstAsk([{ limit: 100_000 }])).toBe(128);
    // The big customer of the simulation: a lease that lasts past its refill at 100 requests/s.
    expect(firstAsk([{ limit: 1_500_000 }])).toBe(300);
    expect(firstAsk([{ limit: 1_500_000 }, { limit: 500_000 }])).toBe(128);
    expect(firstAsk([{ limit: 1_000_000_000 }])).toBe(10_000);
    expect(firstAsk([{ limit: 1_500_000 }], 64)).toBe(64);
  });

  it('asks only for what the request takes after a quiet spell longer than the lease: 1 unit when it waits, none when it was answered', () => {
    expect(quietAskUnits(2_001, LEASE_TTL_MS, true)).toBe(1);
    expect(quietAskUnits(2_001, LEASE_TTL_MS, false)).toBe(0);
    expect(quietAskUnits(600, NEAR_LIMIT_TTL_MS, false)).toBe(0);
    // Within the lease's span (or exactly at its end) the rate sizes the ask.
    expect(quietAskUnits(2_000, LEASE_TTL_MS, false)).toBeUndefined();
    expect(quietAskUnits(10, NEAR_LIMIT_TTL_MS, true)).toBeUndefined();
    expect(quietAskUnits(Number.NaN, LEASE_TTL_MS, true)).toBeUndefined();
  });

  it('trusts a short span once enough requests were seen', () => {
    // 10 requests in 100 ms (100/s): the estimate reads at least half of it.
    let rate = 0;
    for (let i = 0; i < 10; i++) rate = observeRate(rate, T + i * 10, T + (i + 1) * 10);
    expect(correctedRate(rate, 100, 10)).toBeGreaterThan(0.05);
    expect(correctedRate(rate, 100, 2)).toBeLessThan(0.03);
  });

  it('refills before the lease runs out: by units, by half used, by half the time', () => {
    const lease = { units: 40, size: 60, usableUntil: T + 1_500 };
    expect(belowLowWater(lease, 0.01, T, 2_000)).toBe(false);
    expect(belowLowWater(lease, 0.1, T, 2_000)).toBe(true); // 50 units in 500 ms
    expect(belowLowWater({ ...lease, units: 30 }, 0.01, T, 2_000)).toBe(true);
    expect(belowLowWater(lease, 0.01, T + 600, 2_000)).toBe(true);
  });

  it('refills past its own plan instead of half used or half a ttl left', () => {
    const long = {
      units: 40,
      size: 60,
      usableUntil: T + 7_000,
      refill: { atUsed: 30, at: T + 3_000 },
    };
    expect(belowLowWater(long, 0.01, T, 2_000)).toBe(false);
    expect(belowLowWater({ ...long, units: 30 }, 0.01, T, 2_000)).toBe(true);
    expect(belowLowWater(long, 0.01, T + 3_001, 2_000)).toBe(true);
    const never = {
      ...long,
      units: 1,
      refill: { atUsed: Number.POSITIVE_INFINITY, at: T + 6_000 },
    };
    expect(belowLowWater(never, 0, T + 5_000, 2_000)).toBe(false);
    // Still by units against the rate.
    expect(belowLowWater(never, 0.01, T, 2_000)).toBe(true);
  });

  it('refills a lease the object cut short half used, not for being small against the rate', () => {
    // 800 requests/s asks for 6,400; near the limit the object grants a quarter of what is left.
    const capped = { units: 390, size: 400, usableUntil: T + 1_900, capped: true };
    expect(belowLowWater({ ...capped, capped: false }, 0.8, T, 2_000)).toBe(true);
    expect(belowLowWater(capped, 0.8, T, 2_000)).toBe(false);
    expect(belowLowWater({ ...capped, units: 200 }, 0.8, T, 2_000)).toBe(true);
    expect(belowLowWater(capped, 0.8, T + 1_000, 2_000)).toBe(true);
  });
});

describe('optimismAllowance', () => {
  it('gives at most OPTIMISM_MAX_UNITS, and an eighth of the room when that is less', () => {
    expect(optimismAllowance(answerOf(outcome(100_000, 10, 10_000), T), T + 100, 500)).toBe(
      OPTIMISM_MAX_UNITS,
    );
    expect(optimismAllowance(answerOf(outcome(100, 60, 30_000), T), T + 100, 500)).toBe(5);
  });

  it('refuses without an answer, with a stale one, or near the limit', () => {
    expect(optimismAllowance(undefined, T, 500)).toBe(0);
    // Minute window: an answer is fresh for 30 s.
    expect(optimismAllowance(answerOf(outcome(1_000, 10, 10_000), T), T + 29_000, 500)).toBe(8);
    expect(optimismAllowance(answerOf(outcome(1_000, 10, 10_000), T), T + 30_001, 500)).toBe(0);
    // 7 left: an eighth of it is no unit.
    expect(optimismAllowance(answerOf(outcome(100, 93, 30_000), T), T + 100, 500)).toBe(0);
    // 20 left, filled slowly: an eighth of the room, though it is a fifth of the limit.
    expect(optimismAllowance(answerOf(outcome(100, 80, 30_000), T), T + 100, 500)).toBe(2);
  });

  it('refuses when the window fills fast enough to run out before the debt arrives, and never takes more than the projected room', () => {
    // 60 of 100 used in the last 100 ms (a burst): the 40 left are gone within a second.
    expect(optimismAllowance(answerOf(outcome(100, 60, 100), T), T + 10, 1_000)).toBe(0);
    // 20 of 100 in the last second: 80 left now, 3 projected by the horizon; 3 it is.
    expect(optimismAllowance(answerOf(outcome(100, 20, 1_000), T), T + 10, 3_840)).toBe(3);
    // The same 60 spread over 50 s leaves room.
    expect(optimismAllowance(answerOf(outcome(100, 60, 50_000), T), T + 10, 500)).toBe(5);
  });
});

describe('staleAllowance', () => {
  it('gives the first-contact allowance on an answer past its freshness, within the room it showed', () => {
    // Minute window: fresh for 30 s.
    expect(
      staleAllowance(answerOf(outcome(100, 10, 10_000), T), T + 29_000, [{ limit: 100 }]),
    ).toBe(0);
    expect(
      staleAllowance(answerOf(outcome(100, 10, 10_000), T), T + 31_000, [{ limit: 100 }]),
    ).toBe(1);
    expect(
      staleAllowance(answerOf(outcome(50_000, 49_990, 10_000, 60_000), T), T + 31_000, [
        { limit: 50_000 },
      ]),
    ).toBe(10);
    // Allowed the last unit: nothing left to guess from.
    expect(
      staleAllowance(answerOf(outcome(100, 100, 10_000), T), T + 31_000, [{ limit: 100 }]),
    ).toBe(0);
    const refused = { ...outcome(100, 100, 10_000), allowed: false };
    expect(staleAllowance(answerOf(refused, T), T + 31_000, [{ limit: 100 }])).toBe(0);
  });
});

describe('optimismBoundPerIsolate', () => {
  it('is the larger of the first-contact allowance and the answer-based one at its most: 8 from 64 to 8,000', () => {
    // Small limits: an eighth of the smallest limit, at least 1.
    expect(optimismBoundPerIsolate([{ limit: 5 }])).toBe(1);
    expect(optimismBoundPerIsolate([{ limit: 30 }, { limit: 300 }])).toBe(3);
    // The free tier (the boundary attacker's): 8, by the minute's 100.
    expect(optimismBoundPerIsolate([{ limit: 100 }, { limit: 1_000 }])).toBe(OPTIMISM_MAX_UNITS);
    // Large limits: one per 1,000 of the first contact, at most 32.
    expect(optimismBoundPerIsolate([{ limit: 10_000 }])).toBe(10);
    expect(optimismBoundPerIsolate([{ limit: 1_500_000 }])).toBe(32);
    expect(optimismBoundPerIsolate([])).toBe(0);
  });
});

describe('refusalHolds', () => {
  it('holds a fresh refusal until its retry time, and nothing else', () => {
    const full = outcome(100, 100, 30_000);
    const refused = {
      ...full,
      allowed: false,
      windows: full.windows.map((w) => ({ ...w, retryAt: T + 5_000 })),
    };
    expect(refusalHolds(answerOf(refused, T), T + 1_000)).toBe(true);
    expect(refusalHolds(answerOf(refused, T), T + 5_000)).toBe(false);
    expect(refusalHolds(answerOf(full, T), T + 1_000)).toBe(false);
    expect(
      refusalHolds(
        answerOf(
          { ...refused, windows: refused.windows.map((w) => ({ ...w, retryAt: T + 60_000 })) },
          T,
        ),
        T + 30_001,
      ),
    ).toBe(false);
  });
});

describe('long first leases', () => {
  it(`asks a first lease ${ROOMY_TTL_FACTOR}x longer only where every limit could leave ${ROOMY_ROOM}`, () => {
    expect(firstAskTtl([{ limit: 1_500_000 }])).toBe(LEASE_TTL_MS * ROOMY_TTL_FACTOR);
    expect(firstAskTtl([{ limit: ROOMY_ROOM }])).toBe(LEASE_TTL_MS * ROOMY_TTL_FACTOR);
    expect(firstAskTtl([{ limit: ROOMY_ROOM - 1 }])).toBe(LEASE_TTL_MS);
    expect(firstAskTtl([{ limit: 1_500_000 }, { limit: 10_000 }])).toBe(LEASE_TTL_MS);
    expect(firstAskTtl([])).toBe(LEASE_TTL_MS);
    expect(firstAskTtl([{ limit: 1_500_000 }], 300)).toBe(1_200);
  });

  it('uses a long lease only as long as the answer it brought allows', () => {
    const span = (limit: number, used: number, asked: number) =>
      usableSpan(asked, filledOverADay(limit, used));
    const long = LEASE_TTL_MS * ROOMY_TTL_FACTOR;
    expect(span(1_500_000, 0, long)).toBe(long);
    expect(span(1_500_000, 1_500_000 - ROOMY_ROOM + 1, long)).toBe(LEASE_TTL_MS);
    expect(span(1_500_000, 1_499_500, long)).toBe(NEAR_LIMIT_TTL_MS);
    // An ask of the base ttl (or shorter) keeps what it asked for, whatever the answer.
    expect(span(100, 100, LEASE_TTL_MS)).toBe(LEASE_TTL_MS);
    expect(span(100, 0, NEAR_LIMIT_TTL_MS)).toBe(NEAR_LIMIT_TTL_MS);
  });

  it('refills a long blind lease at a drawn share of its units or span, a long rate-sized one when low', () => {
    const long = LEASE_TTL_MS * ROOMY_TTL_FACTOR;
    expect(refillPlan(300, LEASE_TTL_MS, false, () => 0.9)).toEqual({
      atUsed: 150,
      afterMs: 1_000,
    });
    expect(refillPlan(300, NEAR_LIMIT_TTL_MS, true)).toEqual({ atUsed: 150, afterMs: 250 });
    expect(refillPlan(300, long, true, () => 0.9)).toEqual({
      atUsed: Number.POSITIVE_INFINITY,
      afterMs: long - LEASE_TTL_MS / 2,
    });
    expect(refillPlan(300, long, false, () => 0)).toEqual({
      atUsed: 300 * BLIND_REFILL_SHARE.min,
      afterMs: long * BLIND_REFILL_SHARE.min,
    });
    const top = refillPlan(300, long, false, () => 1 - Number.EPSILON);
    expect(top.atUsed).toBeLessThanOrEqual(300 * BLIND_REFILL_SHARE.max);
    expect(top.atUsed).toBeGreaterThan(300 * (BLIND_REFILL_SHARE.max - 0.01));
    expect(top.afterMs).toBeLessThanOrEqual(long * BLIND_REFILL_SHARE.max);
  });
});

describe('one shard of a hot identity', () => {
  it('judges room, long leases and first asks for the whole identity, not for its part', () => {
    const part = 300_000;
    const left = (remaining: number) => filledOverADay(part, part - remaining);
    // 20,000 left of one of 5 parts: 100,000 left for the identity, room for 8 s leases.
    expect(leaseTtl(left(20_000), LEASE_TTL_MS, 5)).toBe(LEASE_TTL_MS * ROOMY_TTL_FACTOR);
    expect(leaseTtl(left(20_000))).toBe(LEASE_TTL_MS);
    expect(leaseTtl(left(ROOMY_ROOM / 5 - 1), LEASE_TTL_MS, 5)).toBe(LEASE_TTL_MS);
    expect(usableSpan(8_000, left(20_000), LEASE_TTL_MS, 5)).toBe(8_000);
    expect(firstAskTtl([{ limit: 20_000 }], LEASE_TTL_MS, 5)).toBe(LEASE_TTL_MS * ROOMY_TTL_FACTOR);
    // A 1.5 million a minute identity in 5 shards asks as much at first as it would unsharded.
    expect(firstAsk([{ limit: part }])).toBe(128);
    expect(firstAsk([{ limit: part }], MAX_ASK_UNITS, 5)).toBe(firstAsk([{ limit: 1_500_000 }]));
  });
});

describe('rttTtl', () => {
  it(`raises a short ttl to ${RTT_TTL_FACTOR} round trips to the object, never above the base ttl`, () => {
    expect(RTT_TTL_FACTOR).toBe(4);
    // Near the limit, 300 ms from the object: 1,200 ms, so that a lease lands with most of it left.
    expect(rttTtl(NEAR_LIMIT_TTL_MS, 300)).toBe(1_200);
    // Close to it (or nothing measured yet): the near-limit ttl stays.
    expect(rttTtl(NEAR_LIMIT_TTL_MS, 40)).toBe(NEAR_LIMIT_TTL_MS);
    expect(rttTtl(NEAR_LIMIT_TTL_MS, 0)).toBe(NEAR_LIMIT_TTL_MS);
    expect(rttTtl(NEAR_LIMIT_TTL_MS, Number.NaN)).toBe(NEAR_LIMIT_TTL_MS);
    // At most the base ttl; the base and longer ttls are left as they are.
    expect(rttTtl(NEAR_LIMIT_TTL_MS, 900)).toBe(LEASE_TTL_MS);
    expect(rttTtl(LEASE_TTL_MS, 900)).toBe(LEASE_TTL_MS);
    expect(rttTtl(LEASE_TTL_MS * ROOMY_TTL_FACTOR, 900)).toBe(LEASE_TTL_MS * ROOMY_TTL_FACTOR);
    expect(rttTtl(300, 100, 300)).toBe(300);
  });
});

describe('leaseTtl', () => {
  it(`leases for ${NEAR_LIMIT_TTL_MS} ms once a window shows less than min(limit / 4, 1,000) left`, () => {
    expect(NEAR_LIMIT_TTL_MS).toBe(500);
    const ttl = (limit: number, used: number) => leaseTtl(filledOverADay(limit, used));
    expect(leaseTtl(undefined)).toBe(LEASE_TTL_MS);
    // limit 100: near below 25 left.
    expect(ttl(100, 75)).toBe(LEASE_TTL_MS);
    expect(ttl(100, 76)).toBe(NEAR_LIMIT_TTL_MS);
    expect(ttl(100, 100)).toBe(NEAR_LIMIT_TTL_MS);
    // limit 1,000,000: near below 1,000 left, not a quarter.
    expect(ttl(1_000_000, 999_000)).toBe(LEASE_TTL_MS);
    expect(ttl(1_000_000, 999_001)).toBe(NEAR_LIMIT_TTL_MS);
    // Never longer than the ttl configured.
    expect(leaseTtl(answerOf(outcome(100, 90, 1_000), T), 300)).toBe(300);
    expect(leaseTtl(answerOf(outcome(100, 0, 1_000), T), 300)).toBe(300);
  });

  it(`leases ${ROOMY_TTL_FACTOR}x longer while every window has ${ROOMY_ROOM} units left`, () => {
    const ttl = (limit: number, used: number) => leaseTtl(filledOverADay(limit, used));
    expect(ttl(1_500_000, 0)).toBe(LEASE_TTL_MS * ROOMY_TTL_FACTOR);
    expect(ttl(1_500_000, 1_500_000 - ROOMY_ROOM)).toBe(LEASE_TTL_MS * ROOMY_TTL_FACTOR);
    expect(ttl(1_500_000, 1_500_000 - ROOMY_ROOM + 1)).toBe(LEASE_TTL_MS);
    // Below that room, and for every smaller limit, the ttl configured.
    expect(ttl(10_000, 0)).toBe(LEASE_TTL_MS);
    // One window short of the room is enough to keep the ttl.
    const minute = outcome(1_500_000, 0, 1_000).windows[0];
    const day = outcome(10_000, 0, 1_000, 86_400_000).windows[0];
    if (!minute || !day) throw new Error('no window');
    const both: CheckOutcome = { allowed: true, now: T, windows: [minute, { ...day, id: 'd' }] };
    expect(leaseTtl(answerOf(both, T))).toBe(LEASE_TTL_MS);
  });

  it('looks at every window: one near its limit is enough', () => {
    const minute = outcome(1_000, 10, 1_000).windows[0];
    const day = outcome(10_000, 9_500, 1_000, 86_400_000).windows[0];
    if (!minute || !day) throw new Error('no window');
    const both: CheckOutcome = { allowed: true, now: T, windows: [minute, { ...day, id: 'd' }] };
    expect(leaseTtl(answerOf(both, T))).toBe(NEAR_LIMIT_TTL_MS);
  });
});

describe('what all isolates hold at once (a share of the limit)', () => {
  it(`caps an ask at ${HELD_SHARE * 100}% of the limit over the window's fill rate, and leaves quiet identities alone`, () => {
    // One shard of the 20,000 requests/s customer: 300,000 of 312,500 used over the last minute.
    const hot = answerOf(outcome(312_500, 300_000, 60_000), T);
    expect(heldSpanMs(hot)).toBeCloseTo(1_250, 6);
    expect(askSpanMs(LEASE_TTL_MS, hot)).toBeCloseTo(1_250, 6);
    // 100 requests/s in this isolate: 125 units an ask, where two ttls of its rate were 400.
    expect(askUnits(0.1, askSpanMs(LEASE_TTL_MS, hot), MAX_ASK_UNITS, 1)).toBe(125);
    expect(askUnits(0.1, LEASE_TTL_MS)).toBe(400);
    // A window filled at half a percent of its limit a second or slower keeps the asks it had.
    const quiet = answerOf(outcome(100_000, 15_000, 60_000), T);
    expect(askSpanMs(LEASE_TTL_MS, quiet)).toBe(ASK_HEADROOM * LEASE_TTL_MS);
    // Nothing known, nothing filled: no cap.
    expect(heldSpanMs(undefined)).toBe(Number.POSITIVE_INFINITY);
    expect(heldSpanMs(answerOf(outcome(100, 0, 1_000), T))).toBe(Number.POSITIVE_INFINITY);
    // The tightest window decides.
    const minute = outcome(312_500, 300_000, 60_000).windows[0];
    const day = outcome(10_000_000, 0, 1_000, 86_400_000).windows[0];
    if (!minute || !day) throw new Error('no window');
    const both: CheckOutcome = { allowed: true, now: T, windows: [{ ...day, id: 'd' }, minute] };
    expect(heldSpanMs(answerOf(both, T))).toBeCloseTo(1_250, 6);
  });

  it('refills a short or small lease at half its span or half what an ask carries, not as it lands', () => {
    expect(lowWaterMs(LEASE_TTL_MS, undefined)).toBe(LOW_WATER_MS);
    expect(lowWaterMs(NEAR_LIMIT_TTL_MS, undefined)).toBe(NEAR_LIMIT_TTL_MS / 2);
    // 300,000 units in the last 30 s: an ask carries 625 ms of the rate, refilled at half of it.
    const hotter = answerOf(outcome(312_500, 300_000, 30_000), T);
    expect(lowWaterMs(LEASE_TTL_MS, hotter)).toBeCloseTo(312.5, 6);
  });

  it(`leases for ${NEAR_LIMIT_TTL_MS} ms while a window has less room than it fills in ${NEAR_LIMIT_FILL_MS} ms`, () => {
    // 1,250,000 a minute filled at 20 units/ms with 50,000 left: 2.5 s of fill, near.
    expect(leaseTtl(answerOf(outcome(1_250_000, 1_200_000, 60_000), T))).toBe(NEAR_LIMIT_TTL_MS);
    // The same room filled 10x slower (over 600 s of a longer window): 25 s of fill, not near.
    expect(leaseTtl(answerOf(outcome(1_250_000, 1_200_000, 600_000, 3_600_000), T))).toBe(
      LEASE_TTL_MS * ROOMY_TTL_FACTOR,
    );
    // Never more than a quarter of the limit counts as near.
    expect(leaseTtl(answerOf(outcome(1_000_000, 500_000, 1_000), T))).not.toBe(NEAR_LIMIT_TTL_MS);
  });
});

describe('servesFirst (the lease a refill replaced)', () => {
  it('serves on only what the isolate will use before the span ends', () => {
    // 100 units a second (0.1 per ms), 1 s of span left: up to 100 units.
    expect(servesFirst(40, 0.1, 1_000)).toBe(true);
    expect(servesFirst(100, 0.1, 1_000)).toBe(true);
    expect(servesFirst(101, 0.1, 1_000)).toBe(false);
    // Nothing left, no time left, or no rate: nothing to serve.
    expect(servesFirst(0, 0.1, 1_000)).toBe(false);
    expect(servesFirst(40, 0.1, 0)).toBe(false);
    expect(servesFirst(1, 0, 1_000)).toBe(false);
  });
});

describe('used units in parts of a lease', () => {
  it('puts a use in the part of the span it falls in, a use past the end in the last', () => {
    expect(usedPartIndex(0, 8_000, 0)).toBe(0);
    expect(usedPartIndex(0, 8_000, 2_500)).toBe(5);
    expect(usedPartIndex(0, 8_000, 7_999)).toBe(USED_PARTS - 1);
    expect(usedPartIndex(0, 8_000, 9_000)).toBe(USED_PARTS - 1);
    expect(usedPartIndex(100, 100, 100)).toBe(0);
  });

  it('reports parts only from 64 used units, each ending no later than the last use', () => {
    const counts = new Array<number>(USED_PARTS).fill(0);
    counts[0] = 30;
    counts[3] = 33;
    expect(usedParts(counts, 1_600, 390)).toBeUndefined();
    counts[3] = 34;
    expect(usedParts(counts, 1_600, 390)).toEqual([
      { units: 30, withinMs: 100 },
      { units: 34, withinMs: 390 },
    ]);
  });
});
