/** The ideal limiter of `scripts/sim/ideal.ts`: what news arriving late costs, and nothing else. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { idealRow, judgeIdeal, type Trace, traceOf } from '../../scripts/sim/ideal';
import { AGREEMENT_SCENARIO, type TierWindow } from '../../scripts/sim/scenario';
import { simulate } from '../../scripts/sim/simulate';
import type { SimIdentity } from '../../scripts/sim/traffic';

const twoPerSecond: TierWindow = { id: 's', limit: 2, windowMs: 1_000, window: '1s' };

const one: SimIdentity = {
  key: 'c:one',
  tier: 'free',
  windows: [twoPerSecond],
  home: 0,
  keyed: true,
};

/** A trace of one identity: `[at, location]` arrivals, round trips of 20 ms between locations. */
const traceOf1 = (arrivals: readonly (readonly [number, number])[]): Trace => ({
  people: [one],
  arrivals: arrivals.map(([at, location]) => ({ at, identity: 0, location })),
  roundTripMs: (a, b) => (a === b ? 0 : 20),
});

describe('the ideal limiter', () => {
  it('overshoots when two locations take the last unit less than the news delay apart, and not when the news came in time', () => {
    // Location 0 at 0 and 10 ms fill the window; location 1 asks at 15 ms.
    const trace = traceOf1([
      [0, 0],
      [10, 0],
      [15, 1],
    ]);
    // Known 10 ms late at location 1: only the decision at 0 is known, one unit seems left.
    const late = judgeIdeal(trace, () => 10)[0];
    expect(late?.overshoot).toBe(1);
    expect(late?.maxOverLimit).toBe(1);
    // Known 5 ms late: both are known, it rejects, rightly.
    const early = judgeIdeal(trace, () => 5)[0];
    expect(early?.overshoot).toBe(0);
    expect(early?.falseRejections).toBe(0);
  });

  it('never rejects a request there was room for, and is never wrong when news is instant', () => {
    const arrival = fc.tuple(fc.integer({ min: 0, max: 5_000 }), fc.integer({ min: 0, max: 3 }));
    fc.assert(
      fc.property(
        fc.array(arrival, { maxLength: 80 }),
        fc.integer({ min: 0, max: 50 }),
        (raw, delayMs) => {
          const trace = traceOf1([...raw].sort((a, b) => a[0] - b[0]));
          const late = judgeIdeal(trace, () => delayMs)[0];
          expect(late?.falseRejections).toBe(0);
          const instant = judgeIdeal(trace, () => 0)[0];
          expect((instant?.overshoot ?? 0) + (instant?.falseRejections ?? 0)).toBe(0);
        },
      ),
    );
  });

  it('reports overshoot per tier, as a share of every request', () => {
    const row = idealRow(
      traceOf1([
        [0, 0],
        [10, 0],
        [15, 1],
        [2_000, 1],
      ]),
      '10 ms',
      () => 10,
    );
    expect(row.requests).toBe(4);
    expect(row.overshootByTier.free).toBe(1);
    expect(row.wrongPct).toBe(25);
  });

  it('decides the very arrivals the simulation decides (same seed, same identities, instants and locations)', async () => {
    const trace = await traceOf(AGREEMENT_SCENARIO);
    const { trace: simulated } = await simulate(AGREEMENT_SCENARIO, 'fast', { trace: true });
    const fromIdeal = trace.arrivals.map(
      (a) => `${a.at}|${trace.people[a.identity]?.key}|${a.location}`,
    );
    const fromSim = simulated.map((d) => `${d.at}|${d.identity}|${d.location}`);
    expect(fromIdeal.length).toBeGreaterThan(100);
    expect([...fromIdeal].sort()).toEqual([...fromSim].sort());
  });
});
