/**
 * The sparse scenario (`npm run sim -- --scenario sparse`): quiet isolates, where what a lease
 * leaves unused is given back by the return timer or stays counted until the window lets it go.
 */
import { describe, expect, it } from 'vitest';
import { SPARSE_SCENARIO } from '../../scripts/sim/scenario';
import { simulate } from '../../scripts/sim/simulate';

describe('the sparse scenario', () => {
  it('has quiet isolates: no big customer, no attacker, under one request per 2 s lease each', () => {
    const isolates = SPARSE_SCENARIO.locations * SPARSE_SCENARIO.isolatesPerLocation;
    expect(SPARSE_SCENARIO.bigCustomer).toBeNull();
    expect(SPARSE_SCENARIO.attacker).toBeNull();
    expect(SPARSE_SCENARIO.backgroundRps / isolates).toBeLessThan(0.5);
  });

  it('rejects fewer requests wrongly with the return timer than without (units given back)', async () => {
    const run = async (returnTimer: boolean) =>
      (await simulate({ ...SPARSE_SCENARIO, returnTimer }, 'fast')).row;
    const on = await run(true);
    const off = await run(false);
    expect(on.requests).toBe(off.requests);
    // Measured at seed 1: 0.12% against 0.28% of requests (0.74% against 1.15% before quiet asks).
    expect(on.falseRejectionPct).toBeLessThan(off.falseRejectionPct);
    // The returns are object requests of their own.
    expect(on.perRequest.doRequests).toBeGreaterThan(off.perRequest.doRequests);
  }, 60_000);
});
