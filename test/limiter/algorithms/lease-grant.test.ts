/** The sliding window's lease rule: debt recorded before granting, several refunds per ask. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Buckets,
  bucketExpiry,
  checkAll,
  currentBucket,
} from '../../../src/limiter/algorithms/sliding-window/arithmetic';
import { grantLease } from '../../../src/limiter/algorithms/sliding-window/lease';
import type { WindowSpec } from '../../../src/limiter/contract';
import { PINNED_T0 } from '../../support/pinned-time';

const minute: WindowSpec = { id: 'm', limit: 100, windowMs: 60_000 };
const T = PINNED_T0;

function usedAt(counters: Map<string, Buckets>, now: number): number {
  return checkAll([minute], counters, now, 1, false).windows[0]?.used ?? -1;
}

describe('grantLease with debt', () => {
  it('records the debt at its own now before it grants, so the grant sees it', () => {
    const counters = new Map<string, Buckets>();
    const { grant } = grantLease([minute], counters, T, { units: 50, ttlMs: 2_000, debt: 60 });
    // 60 already served: 40 left, a quarter of it granted.
    expect(grant.granted).toBe(10);
    expect(usedAt(counters, T)).toBe(70);
    expect(grant.outcome.windows[0]?.remaining).toBe(30);
  });

  it('records debt past the limit (it was served), and then grants nothing', () => {
    const counters = new Map<string, Buckets>();
    grantLease([minute], counters, T, { units: 1, ttlMs: 2_000, debt: 100 });
    const { grant, changes } = grantLease([minute], counters, T + 1, {
      units: 4,
      ttlMs: 2_000,
      debt: 3,
    });
    expect(grant.granted).toBe(0);
    expect(usedAt(counters, T + 1)).toBe(103);
    expect(changes).toContainEqual({ at: T + 1, units: 3 });
  });

  it('records no debt that is not a whole number of units', () => {
    for (const debt of [Number.POSITIVE_INFINITY, Number.NaN, -4]) {
      const counters = new Map<string, Buckets>();
      const { changes } = grantLease([minute], counters, T, { units: 0, ttlMs: 2_000, debt });
      expect(changes).toEqual([]);
      expect(usedAt(counters, T)).toBe(0);
    }
  });

  it('grants nothing to an ask whose units or ttl are not numbers, and stays usable', () => {
    const counters = new Map<string, Buckets>();
    for (const ask of [
      { units: Number.NaN, ttlMs: 2_000 },
      { units: 5, ttlMs: Number.NaN },
      { units: 5, ttlMs: -1 },
    ]) {
      const { grant, changes } = grantLease([minute], counters, T, ask);
      expect(grant.granted).toBe(0);
      expect(changes).toEqual([]);
    }
    expect(grantLease([minute], counters, T, { units: 5, ttlMs: 2_000 }).grant.granted).toBe(5);
  });

  it('settles every refund of an ask: a replaced lease and an expired one', () => {
    const counters = new Map<string, Buckets>();
    const a = grantLease([minute], counters, T, { units: 20, ttlMs: 2_000 }).grant;
    const b = grantLease([minute], counters, T + 10, { units: 20, ttlMs: 2_000 }).grant;
    expect(usedAt(counters, T + 10)).toBe(a.granted + b.granted);
    grantLease([minute], counters, T + 3_000, {
      units: 1,
      ttlMs: 2_000,
      refunds: [
        { units: a.granted - 2, at: a.at, used: 2, usedWithinMs: 100, ttlMs: 2_000 },
        { units: b.granted, at: b.at, used: 0, usedWithinMs: 0, ttlMs: 2_000 },
      ],
    });
    // Two used units stay counted, plus the new one-unit lease.
    expect(usedAt(counters, T + 3_000)).toBe(3);
  });
});

describe('grantLease settling a lease used in parts (usedParts)', () => {
  const big: WindowSpec = { id: 'm', limit: 1_000, windowMs: 60_000 };
  const used = (counters: Map<string, Buckets>, now: number) =>
    checkAll([big], counters, now, 1, false).windows[0]?.used ?? -1;

  /** An 8 s lease of 200 units at T, 100 used: 60 within 1 s of its ask, 40 by 7 s. */
  const settled = (parts: { units: number; withinMs: number }[] | undefined) => {
    const counters = new Map<string, Buckets>();
    const lease = grantLease([big], counters, T, { units: 200, ttlMs: 8_000 }).grant;
    expect(lease.granted).toBe(200);
    const refund = {
      units: 100,
      at: lease.at,
      used: 100,
      usedWithinMs: 7_000,
      ttlMs: 8_000,
      ...(parts ? { usedParts: parts } : {}),
    };
    const { changes } = grantLease([big], counters, T + 7_500, { units: 0, ttlMs: 2_000, refund });
    return { counters, changes };
  };

  it('counts each part from its own end, so the early units leave the window first', () => {
    const { counters, changes } = settled([
      { units: 60, withinMs: 1_000 },
      { units: 40, withinMs: 7_000 },
    ]);
    expect(changes).toContainEqual({ at: T + 1_000, units: 60 });
    expect(changes).toContainEqual({ at: T + 7_000, units: 40 });
    expect(used(counters, T + 60_999)).toBe(100);
    // The exact log freed the 60 by T + 61 s; counted at the last use they would stay until 67 s.
    expect(used(counters, T + 61_000)).toBe(40);
    expect(used(counters, T + 67_000)).toBe(0);
  });

  it('without parts keeps every used unit at the last use (what an older isolate sends)', () => {
    const { counters } = settled(undefined);
    expect(used(counters, T + 61_000)).toBe(100);
    expect(used(counters, T + 67_000)).toBe(0);
  });

  it('places no part later than the last use or earlier than the grant, and reads no malformed part', () => {
    const { changes } = settled([
      { units: 30, withinMs: -5 },
      { units: 30, withinMs: 99_000 },
      { units: Number.NaN, withinMs: 10 },
      { units: 2.5, withinMs: 10 },
      null as unknown as { units: number; withinMs: number },
      { units: 5 } as unknown as { units: number; withinMs: number },
    ]);
    const placed = changes.filter((c) => c.units > 0);
    expect(placed).toEqual([
      { at: T + 7_000, units: 40 },
      { at: T + 7_000, units: 30 },
      { at: T, units: 30 },
    ]);
  });

  it('counts used units at the lease end when the last use is not a number (never at NaN)', () => {
    const counters = new Map<string, Buckets>();
    const lease = grantLease([big], counters, T, { units: 200, ttlMs: 8_000 }).grant;
    const refund = { units: 100, at: lease.at, used: 100, usedWithinMs: Number.NaN, ttlMs: 8_000 };
    const { changes } = grantLease([big], counters, T + 7_500, { units: 0, ttlMs: 2_000, refund });
    expect(changes.filter((c) => c.units > 0)).toEqual([{ at: lease.at, units: 100 }]);
    expect(used(counters, T + 67_999)).toBe(100);
  });

  it('keeps every used unit at the last use when usedParts is not a list', () => {
    const malformed = { 0: { units: 60, withinMs: 1_000 } } as unknown as [];
    const { counters } = settled(malformed);
    expect(used(counters, T + 61_000)).toBe(100);
  });

  it('moves no more than the used units when the parts claim more', () => {
    const { counters, changes } = settled([
      { units: 90, withinMs: 500 },
      { units: 90, withinMs: 6_000 },
    ]);
    // The later part first (counted longer), then what is left of the earlier one.
    expect(changes.filter((c) => c.units > 0)).toEqual([
      { at: T + 6_000, units: 90 },
      { at: T + 500, units: 10 },
    ]);
    expect(used(counters, T + 60_000)).toBe(100);
  });
});

describe('grantLease with units that failed open', () => {
  const day: WindowSpec = { id: 'd', limit: 1_000, windowMs: 86_400_000 };

  it('records them where they passed, forced past the limit, before it grants', () => {
    const counters = new Map<string, Buckets>();
    const { grant, changes } = grantLease([minute], counters, T, {
      units: 10,
      ttlMs: 2_000,
      failedOpen: [
        { units: 90, at: T - 30_000 },
        { units: 20, at: T - 1_000 },
      ],
    });
    // 110 passed: the window is past its limit and grants nothing.
    expect(grant.granted).toBe(0);
    expect(grant.outcome.allowed).toBe(false);
    expect(changes).toEqual([
      { at: T - 30_000, units: 90 },
      { at: T - 1_000, units: 20 },
    ]);
    // The 90 leave the window a minute after they passed, not a minute after the object heard.
    expect(usedAt(counters, T + 29_999)).toBe(110);
    expect(usedAt(counters, T + 30_000)).toBe(20);
  });

  it('counts a unit older than a window only in the windows it is still in', () => {
    const counters = new Map<string, Buckets>();
    grantLease([minute, day], counters, T, {
      units: 0,
      ttlMs: 2_000,
      failedOpen: [{ units: 5, at: T - 90_000 }],
    });
    const [m, d] = checkAll([minute, day], counters, T, 1, false).windows;
    expect(m?.used).toBe(0);
    expect(d?.used).toBe(5);
    // Older than every window, or malformed: nothing.
    const none = grantLease([minute, day], new Map(), T, {
      units: 0,
      ttlMs: 2_000,
      failedOpen: [
        { units: 5, at: T - 86_400_000 },
        { units: -3, at: T },
        { units: Number.NaN, at: T },
        { units: 2, at: Number.NaN },
        { units: Number.POSITIVE_INFINITY, at: T },
      ],
    });
    expect(none.changes).toEqual([]);
  });

  it("counts a unit stamped ahead of the object's clock from the object's now", () => {
    const counters = new Map<string, Buckets>();
    const { changes } = grantLease([minute], counters, T, {
      units: 0,
      ttlMs: 2_000,
      failedOpen: [{ units: 4, at: T + 5_000 }],
    });
    expect(changes).toEqual([{ at: T, units: 4 }]);
    expect(usedAt(counters, T + 59_999)).toBe(4);
    expect(usedAt(counters, T + 60_000)).toBe(0);
  });
});

describe('grantLease at a full window (units that free within FUTURE_GRANT_MS)', () => {
  // Above EXACT_UP_TO: 60 ms buckets, whose units free together.
  const large: WindowSpec = { id: 'l', limit: 10_000, windowMs: 60_000 };
  const usedOf = (counters: Map<string, Buckets>, now: number) =>
    checkAll([large], counters, now, 1, false).windows[0]?.used ?? -1;

  it('grants units its oldest free within 500 ms, usable from when they free, recorded a ttl after that', () => {
    const counters = new Map<string, Buckets>();
    // 10,000 units in the bucket of T (60 ms wide): they stop counting at its end plus a window.
    checkAll([large], counters, T, 10_000, 'force');
    const freesAt = bucketExpiry(currentBucket(T, 60_000, 10_000), 60_000, 10_000);
    const now = freesAt - 200;
    const { grant, changes } = grantLease([large], counters, now, { units: 100, ttlMs: 500 });
    expect(grant.granted).toBe(100);
    expect(grant.fromMs).toBe(200);
    expect(grant.at).toBe(now + 200 + 500);
    expect(changes).toContainEqual({ at: now + 700, units: 100 });
    expect(usedOf(counters, now)).toBe(10_100);
    // Nothing frees within the horizon (at most half the ttl): a refusal, as before.
    const early = grantLease([large], new Map(counters), now - 1_000, { units: 100, ttlMs: 500 });
    expect(early.grant.granted).toBe(0);
    expect(early.grant.fromMs).toBeUndefined();
    // An ask of fewer than FUTURE_GRANT_MIN_UNITS (an isolate that rarely sees the identity), or a
    // window of EXACT_UP_TO or less (its units free one by one), is refused as before.
    const few = grantLease([large], new Map(counters), now + 1, { units: 3, ttlMs: 500 });
    expect(few.grant.granted).toBe(0);
    const smallCounters = new Map<string, Buckets>();
    checkAll([minute], smallCounters, T, 100, 'force');
    const small = grantLease([minute], smallCounters, T + 59_900, { units: 10, ttlMs: 500 });
    expect(small.grant.granted).toBe(0);
    // The next ask sees what was granted ahead: 9,900 free by then, at most what it asks.
    const next = grantLease([large], counters, now + 1, { units: 5_000, ttlMs: 500 }).grant;
    expect(next.granted).toBe(Math.floor(9_900 / 4));
    expect(next.fromMs).toBe(199);
  });

  it('never lets a sliding window hold more than its limit, however the isolates use what it grants ahead (fast-check)', () => {
    // 1 ms buckets above EXACT_UP_TO: a 1 s window of 2,000.
    const spec: WindowSpec = { id: 'w', limit: 2_000, windowMs: 1_000 };
    let ahead = 0;
    const ask = fc.record({
      gapMs: fc.integer({ min: 0, max: 120 }),
      units: fc.integer({ min: 1, max: 1_500 }),
      ttlMs: fc.integer({ min: 50, max: 2_000 }),
      // Where in its usable span each lease's units are used: 0 the first instant, 1 the last
      // (where the object recorded them: the real window is then as full as the object's).
      at: fc.oneof(fc.constantFrom(0, 1), fc.double({ min: 0, max: 1, noNaN: true })),
    });
    fc.assert(
      fc.property(fc.array(ask, { minLength: 1, maxLength: 80 }), (asks) => {
        // Another isolate used the whole window at T: it frees at T + 1,000.
        const counters = new Map<string, Buckets>();
        checkAll([spec], counters, T, spec.limit, 'force');
        const uses: [number, number][] = [[T, spec.limit]];
        let now = T + 400;
        for (const a of asks) {
          now += a.gapMs;
          const { grant } = grantLease([spec], counters, now, { units: a.units, ttlMs: a.ttlMs });
          if (grant.fromMs !== undefined) ahead++;
          const from = now + (grant.fromMs ?? 0);
          // Usable in [from, from + ttl): the last instant is from + ttl - 1.
          if (grant.granted > 0)
            uses.push([Math.floor(from + a.at * (a.ttlMs - 1)), grant.granted]);
        }
        uses.sort((x, y) => x[0] - y[0]);
        let start = 0;
        let inWindow = 0;
        for (const [t, n] of uses) {
          inWindow += n;
          while ((uses[start]?.[0] ?? t) <= t - spec.windowMs) inWindow -= uses[start++]?.[1] ?? 0;
          if (inWindow > spec.limit) return false;
        }
        return true;
      }),
      { numRuns: 300 },
    );
    // The runs did reach full windows, granted ahead.
    expect(ahead).toBeGreaterThan(5);
  });
});
