/** `--refusal-oracle-ms` (`Scenario.refusalOracleMs`): first contacts of a refused identity wait. */
import { describe, expect, it } from 'vitest';
import { RefusalTimes } from '../../scripts/sim/fleet';
import { AGREEMENT_SCENARIO, minute, type Scenario } from '../../scripts/sim/scenario';
import { decide } from '../../src/limiter/decide';
import { simFleet } from '../support/sim-fleet';

/**
 * Fills a 2-a-minute window from location 0 (the third request is refused), then sends the
 * identity's first request at location 1, 100 ms later: the outcomes in order.
 */
async function run(
  refusalOracleMs: number | undefined,
  { every = 10, until = 20, firstContactAt = 100 } = {},
): Promise<string[]> {
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
  for (let at = 0; at <= until; at += every) vt.at(start + at, request(0));
  vt.at(start + firstContactAt, request(1));
  await vt.run(start + Math.max(until, firstContactAt) + 2_000);
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

  it('knows an identity refused without a break, though its last refusal is always younger than the delay', async () => {
    // Location 0 sends every 10 ms up to 2.1 s: its object refuses at 20 ms, and again at
    // 2,020 ms when the isolate's hold of that refusal (a lease ttl) ends. The first contact at
    // location 1 comes at 2,050 ms: the last refusal is 30 ms old, the one at 20 ms long known.
    const outcomes = await run(100, { every: 10, until: 2_100, firstContactAt: 2_050 });
    expect(outcomes.filter((o) => o.startsWith('1:'))).toEqual(['1:rejected']);
    expect(outcomes.filter((o) => o === '0:allowed')).toHaveLength(2);
  });

  it('knows a refusal from its delay on, until the object said the identity may pass again or the hold ends', () => {
    const times = new RefusalTimes();
    // Refused at 1,000 ms, a unit free again at 5,000 ms; refused again at 1,005 (kept as one).
    times.add(1_000, 5_000);
    times.add(1_005, 5_000);
    expect(times.knownAt(1_050, 100)).toBe(false);
    expect(times.knownAt(1_100, 100)).toBe(true);
    expect(times.knownAt(4_999, 100)).toBe(true);
    expect(times.knownAt(5_000, 100)).toBe(false);
    // A day window full: known for the hold (60 s), not for the day.
    times.add(10_000, 86_400_000);
    expect(times.knownAt(60_000, 100)).toBe(true);
    expect(times.knownAt(70_100, 100)).toBe(false);
  });
});
