/**
 * The simulated traffic, as arrivals scheduled on virtual time: a Zipf background over the
 * identities of every tier, bursts, the big enterprise customer over every location, and the
 * boundary attacker at every minute boundary from every location. Drawn from its own random
 * stream, so every consistency mode sees exactly the same trace.
 */
import type { Rng } from './rng';
import { Zipf } from './rng';
import type { Scenario, Tier, TierWindow } from './scenario';
import type { VirtualTime } from './virtual-time';

/** One identity of the scenario. */
/** The boundary attacker's identity key. */
export const ATTACKER_KEY = 'c:boundary-attacker';

export interface SimIdentity {
  readonly key: string;
  readonly tier: Tier | 'big' | 'attacker';
  readonly windows: readonly TierWindow[];
  readonly home: number;
  /** API key callers cost KV reads; anonymous callers are keyed by IP. */
  readonly keyed: boolean;
}

/** The identities: the Zipf population first (by popularity rank), then the special ones. */
export function identities(scenario: Scenario, rng: Rng): SimIdentity[] {
  const tiers = Object.entries(scenario.tierShares) as [Tier, number][];
  const out: SimIdentity[] = [];
  for (let i = 0; i < scenario.identities; i++) {
    let u = rng.next();
    let tier: Tier = 'free';
    for (const [t, share] of tiers) {
      tier = t;
      u -= share;
      if (u < 0) break;
    }
    out.push({
      key: tier === 'anonymous' ? `ip:10.${i >> 8}.${i & 255}.1` : `c:${tier}-${i}`,
      tier,
      windows: scenario.tierWindows[tier],
      home: rng.int(scenario.locations),
      keyed: tier !== 'anonymous',
    });
  }
  if (scenario.bigCustomer) {
    out.push({
      key: 'c:big-enterprise',
      tier: 'big',
      windows: scenario.bigCustomer.windows,
      home: 0,
      keyed: true,
    });
  }
  if (scenario.attacker) {
    out.push({
      key: ATTACKER_KEY,
      tier: 'attacker',
      windows: scenario.attacker.windows,
      home: 0,
      keyed: true,
    });
  }
  return out;
}

/** Called for each arrival: identity index and location. */
export type Arrive = (identity: number, location: number) => void;

/** Schedules every arrival of the scenario between `start` and `start + durationMs`. */
export function scheduleTraffic(
  scenario: Scenario,
  people: readonly SimIdentity[],
  vt: VirtualTime,
  start: number,
  rng: Rng,
  arrive: Arrive,
): void {
  const end = start + scenario.durationMs;
  const zipf = new Zipf(scenario.identities, scenario.zipfS);
  const locationOf = (who: SimIdentity, r: Rng) =>
    r.next() < scenario.homeShare ? who.home : r.int(scenario.locations);

  // A Poisson stream re-arms itself, so the queue holds one pending arrival per stream.
  const poisson = (rps: number, r: Rng, each: () => void) => {
    if (rps <= 0) return;
    const next = (t: number) => {
      const at = t + r.exponential(1000 / rps);
      if (at >= end) return;
      vt.at(at, () => {
        each();
        next(at);
      });
    };
    next(start);
  };

  const background = rng.fork();
  poisson(scenario.backgroundRps, background, () => {
    const i = zipf.sample(background);
    const who = people[i];
    if (who) arrive(i, locationOf(who, background));
  });

  const bursts = rng.fork();
  for (let b = 0; b < scenario.bursts; b++) {
    const i = bursts.int(scenario.identities);
    const who = people[i];
    const w = who?.windows[0];
    if (!who || !w) continue;
    const at = start + bursts.next() * scenario.durationMs;
    const spread = w.windowMs / 20;
    for (let k = 0; k < w.limit; k++) {
      const t = at + bursts.next() * spread;
      if (t < end) vt.at(t, () => arrive(i, who.home));
    }
  }

  const bigIndex = people.findIndex((p) => p.tier === 'big');
  if (scenario.bigCustomer && bigIndex >= 0) {
    const big = rng.fork();
    poisson(scenario.bigCustomer.rps, big, () => arrive(bigIndex, big.int(scenario.locations)));
  }

  const attackerIndex = people.findIndex((p) => p.tier === 'attacker');
  const attack = scenario.attacker;
  const w = attack?.windows[0];
  if (attack && w && attackerIndex >= 0) {
    const a = rng.fork();
    // Fixed-window boundaries of the attacked window (epoch multiples of its length).
    for (
      let boundary = Math.ceil(start / w.windowMs) * w.windowMs;
      boundary < end + attack.spreadMs;
      boundary += w.windowMs
    ) {
      for (let loc = 0; loc < scenario.locations; loc++) {
        for (let k = 0; k < 2 * w.limit; k++) {
          const before = k < w.limit;
          const t = boundary + (before ? -1 : 1) * a.next() * attack.spreadMs;
          if (t >= start && t < end) vt.at(t, () => arrive(attackerIndex, loc));
        }
      }
    }
  }
}
