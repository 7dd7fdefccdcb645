/** A simulated fleet for tests of `scripts/sim`, built the way `simulate` builds one. */
import { Fleet } from '../../scripts/sim/fleet';
import { Geography } from '../../scripts/sim/geography';
import { Rng } from '../../scripts/sim/rng';
import type { Scenario } from '../../scripts/sim/scenario';
import { type RedisIncident, SimRedis } from '../../scripts/sim/sim-redis';
import { startOf } from '../../scripts/sim/simulate';
import { VirtualTime } from '../../scripts/sim/virtual-time';

/**
 * A fleet over `scenario`'s locations in virtual time from its start, one random stream from
 * `seed` (the network's a fork of it), and a simulated Redis with `incidents`.
 * @example const { fleet, vt, start } = simFleet({ ...AGREEMENT_SCENARIO, locations: 2 });
 */
export function simFleet(
  scenario: Scenario,
  seed = 1,
  incidents: (start: number) => readonly RedisIncident[] = () => [],
) {
  const start = startOf(scenario);
  const vt = new VirtualTime(start);
  const rng = new Rng(seed);
  const redis = new SimRedis(vt, incidents(start));
  const fleet = new Fleet({
    scenario,
    vt,
    geo: new Geography(scenario.locations, scenario.rtt, vt, rng.fork()),
    redis,
    rng,
  });
  return { fleet, vt, start, redis };
}
