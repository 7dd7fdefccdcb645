/** The sliding window's lease rule: debt recorded before granting, several refunds per ask. */
import { describe, expect, it } from 'vitest';
import { type Buckets, checkAll } from '../../../src/limiter/algorithms/sliding-window/arithmetic';
import { grantLease } from '../../../src/limiter/algorithms/sliding-window/lease';
import type { WindowSpec } from '../../../src/limiter/contract';

const minute: WindowSpec = { id: 'm', limit: 100, windowMs: 60_000 };
const T = 1_800_000_000_000;

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
