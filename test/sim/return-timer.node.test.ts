/**
 * The simulated isolates run the worker's return timer (`store/return-timer.ts`) as a request
 * arms it: a quiet isolate gives back the lease units it left unused (`Scenario.returnTimer`).
 */
import { describe, expect, it } from 'vitest';
import { AGREEMENT_SCENARIO, minute, type Scenario } from '../../scripts/sim/scenario';
import { decide } from '../../src/limiter/decide';
import { simFleet } from '../support/sim-fleet';

const windows = [minute(1_000)];

/**
 * Two requests for one identity at location 0, then silence; 5 s later, what its object counts
 * as used, read from location 1 (whose isolate holds nothing of it).
 */
async function usedAfterSilence(returnTimer: boolean): Promise<number> {
  const scenario: Scenario = {
    ...AGREEMENT_SCENARIO,
    locations: 2,
    isolatesPerLocation: 1,
    returnTimer,
  };
  const { fleet, vt, start } = simFleet(scenario);
  const policy = { windows, failMode: 'open' as const, consistency: 'fast' as const };
  const request = () => {
    const iso = fleet.isolateAt(0);
    void decide({
      store: iso.store,
      identity: 'c:quiet',
      policy,
      clock: { now: () => vt.now },
    }).then(() => fleet.armReturns(iso));
  };
  // A first contact, then a lease sized by the rate: all but a unit of it unused.
  vt.at(start, request);
  vt.at(start + 10, request);
  await vt.run(start + 5_000);
  const read = fleet
    .isolateAt(1)
    .store.check({ identity: 'c:quiet', windows, consume: false, now: vt.now });
  await vt.run(start + 5_100);
  return (await read).windows[0]?.used ?? Number.NaN;
}

describe('the simulated return timer', () => {
  it('gives back what a quiet isolate leased and left unused (LEASE_RETURN_TIMER on)', async () => {
    expect(await usedAfterSilence(true)).toBe(2);
  });

  it('leaves it counted with the timer off, as the worker with LEASE_RETURN_TIMER=false', async () => {
    expect(await usedAfterSilence(false)).toBeGreaterThan(2);
  });
});
