/** `--refusal-oracle-ms` (`Scenario.refusalOracleMs`): first contacts of a refused identity wait. */
import { describe, expect, it } from 'vitest';
import { AGREEMENT_SCENARIO, minute, type Scenario } from '../../scripts/sim/scenario';
import { decide } from '../../src/limiter/decide';
import { simFleet } from '../support/sim-fleet';

/**
 * Fills a 2-a-minute window from location 0 (the third request is refused), then sends the
 * identity's first request at location 1, 100 ms later: the outcomes in order.
 */
async function run(refusalOracleMs: number | undefined): Promise<string[]> {
  const scenario: Scenario = {
    ...AGREEMENT_SCENARIO,
    locations: 2,
    isolatesPerLocation: 1,
    ...(refusalOracleMs === undefined ? {} : { refusalOracleMs }),
  };
  const { fleet, vt, start } = simFleet(scenario);
  const policy = { windows: [minute(2)], failMode: 'open' as const, consistency: 'fast' as const };
  const outcomes: string[] = [];
  const request = (location: number) => () => {
    void decide({
      store: fleet.isolateAt(location).store,
      identity: 'c:refused',
      policy,
      clock: { now: () => vt.now },
    }).then((d) => outcomes.push(`${location}:${d.outcome}`));
  };
  for (const at of [0, 10, 20]) vt.at(start + at, request(0));
  vt.at(start + 100, request(1));
  await vt.run(start + 2_000);
  return outcomes;
}

describe('the refusal oracle (what-if)', () => {
  it('lets a first contact into a full window through without it, and makes it wait (and be refused) once the refusal is known', async () => {
    const filled = ['0:allowed', '0:allowed', '0:rejected'];
    // Without the oracle the first contact at location 1 takes its one unit: overshoot.
    expect(await run(undefined)).toEqual([...filled, '1:allowed']);
    // Known at once: it waits for the object, which refuses.
    expect(await run(0)).toEqual([...filled, '1:rejected']);
    // Known only a second after the refusal: at 100 ms nothing is known yet.
    expect(await run(1_000)).toEqual([...filled, '1:allowed']);
  });
});
