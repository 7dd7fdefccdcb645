/** The judge's second reference: an exact limiter deciding the same arrivals alone. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecisionLog } from '../../scripts/sim/judge';
import type { TierWindow } from '../../scripts/sim/scenario';

const second: TierWindow = { id: 's', limit: 2, windowMs: 1_000, window: '1s' };

describe('DecisionLog: allowed against an exact limiter on the same arrivals', () => {
  it('counts a unit given to the same caller a moment later as a false rejection, not as quota short', () => {
    const log = new DecisionLog([second]);
    // The limiter rejects at 0 and allows at 10, 20: the exact log allows 0 and 10, rejects 20.
    log.add(0, false);
    log.add(10, true);
    log.add(20, true);
    const j = log.judge();
    expect(j.falseRejections).toBe(1);
    expect(j.overshoot).toBe(0);
    expect(j.allowed).toBe(2);
    expect(j.exactAllowed).toBe(2);
  });

  it('sees quota short when a rejected unit went to nobody', () => {
    const log = new DecisionLog([second]);
    log.add(0, true);
    log.add(10, false);
    log.add(2_000, false);
    const j = log.judge();
    expect(j.allowed).toBe(1);
    expect(j.exactAllowed).toBe(3);
    expect(j.falseRejections).toBe(2);
  });

  it('allows exactly what an exact limiter allows when the decisions are that limiter’s own', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 5_000 }), { maxLength: 60 }), (raw) => {
        const times = [...raw].sort((a, b) => a - b);
        const log = new DecisionLog([second]);
        const kept: number[] = [];
        for (const t of times) {
          const ok = kept.filter((k) => k > t - second.windowMs).length < second.limit;
          if (ok) kept.push(t);
          log.add(t, ok);
        }
        const j = log.judge();
        expect(j.exactAllowed).toBe(kept.length);
        expect(j.allowed).toBe(kept.length);
        expect(j.overshoot + j.falseRejections).toBe(0);
      }),
    );
  });
});
