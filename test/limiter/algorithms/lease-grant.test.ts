/** The sliding window's lease rule: debt recorded before granting, several refunds per ask. */
import { describe, expect, it } from 'vitest';
import { type Buckets, checkAll } from '../../../src/limiter/algorithms/sliding-window/arithmetic';
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
