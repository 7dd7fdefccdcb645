/** @upstash/ratelimit in the simulated fleet: windows checked together, timeout, outage, billing. */
import { describe, expect, it } from 'vitest';
import { Geography } from '../../scripts/sim/geography';
import { DecisionLog } from '../../scripts/sim/judge';
import { Rng } from '../../scripts/sim/rng';
import {
  DEFAULT_SCENARIO,
  day,
  minute,
  type Scenario,
  type TierWindow,
} from '../../scripts/sim/scenario';
import type { RedisIncident } from '../../scripts/sim/sim-redis';
import { simulate } from '../../scripts/sim/simulate';
import type { SimIdentity } from '../../scripts/sim/traffic';
import { UpstashFleet, type UpstashVariant } from '../../scripts/sim/upstash-limiter';
import { UPSTASH_DEFAULT_TIMEOUT_MS } from '../../scripts/sim/upstash-model';
import { VirtualTime } from '../../scripts/sim/virtual-time';
import { PINNED_T0 } from '../support/pinned-time';

const T0 = PINNED_T0 - (PINNED_T0 % 60_000);

/** One location, one isolate, round trips of `rttMs` (0: none). */
function fleetOf(options: {
  rttMs?: number;
  incidents?: RedisIncident[];
  variant?: UpstashVariant;
}): { vt: VirtualTime; fleet: UpstashFleet } {
  const rttMs = options.rttMs ?? 0;
  const scenario: Scenario = {
    ...DEFAULT_SCENARIO,
    locations: 2,
    rtt: { medianMs: rttMs, p99Ms: rttMs, localMedianMs: rttMs, jitterSigma: 0 },
    isolatesPerLocation: 1,
    isolateLifetimeMs: 1e12,
  };
  const vt = new VirtualTime(T0);
  const geo = new Geography(scenario.locations, scenario.rtt, vt, new Rng(1));
  const fleet = new UpstashFleet({
    scenario,
    vt,
    geo,
    rng: new Rng(2),
    incidents: options.incidents ?? [],
    variant: options.variant ?? 'upstash',
  });
  return { vt, fleet };
}

const who = (windows: TierWindow[]): SimIdentity => ({
  key: 'c:free-1',
  tier: 'free',
  windows,
  home: 0,
  keyed: true,
});

describe('UpstashFleet', () => {
  it('checks every window at once: a request the minute rejects still counts in the day', async () => {
    const { vt, fleet } = fleetOf({});
    const free = who([minute(2), day(3)]);
    const log = new DecisionLog(free.windows);
    const outcomes: string[] = [];
    const decideAt = async (t: number) => {
      await vt.run(t);
      const d = await fleet.decide(free, 0);
      outcomes.push(d.outcome);
      log.add(d.now, d.outcome !== 'rejected');
    };
    for (let i = 0; i < 4; i++) await decideAt(T0 + 1_000 + i);
    // A minute later the minute window has room, but the day counter holds 3: the third
    // request, rejected by the minute, was counted there too.
    await decideAt(T0 + 60_000 + 59_000);
    expect(outcomes).toEqual(['allowed', 'allowed', 'rejected', 'rejected', 'rejected']);
    // Billed per request, minute + day: 5 + 5 (both keys created), 4 + 4, 3 (rejected) + 4
    // (counted), 3 + 3, then 5 (a new minute key) + 3 (the day rejects).
    expect(fleet.billed).toBe(10 + 8 + 7 + 6 + 5 + 3);
    expect(fleet.httpCalls).toBe(10);
    // The exact log: 2 allowed in the day, the minute empty: the last rejection is a false one.
    expect(log.judge().falseRejections).toBe(1);
  });

  it('allows after the library default timeout (5 s) when Redis is slower, and the script still runs', async () => {
    const { vt, fleet } = fleetOf({
      rttMs: 10,
      incidents: [{ from: T0, to: T0 + 60_000, kind: 'slow', extraMs: 6_000 }],
    });
    const decision = fleet.decide(who([minute(1)]), 1);
    await vt.run(T0 + 10_000);
    const d = await decision;
    expect(UPSTASH_DEFAULT_TIMEOUT_MS).toBe(5_000);
    expect(d).toEqual({ outcome: 'failed-open', now: T0 + 5_000 });
    expect(fleet.timeouts).toBe(1);
    // Arrived in Redis at 5 ms + 6,000 ms: counted and billed although nobody waited for it.
    expect(fleet.billed).toBe(5);
  });

  it('allows after one round trip when Redis answers with an error (down), billing nothing', async () => {
    const { vt, fleet } = fleetOf({
      rttMs: 40,
      incidents: [{ from: T0, to: T0 + 60_000, kind: 'down' }],
    });
    const decision = fleet.decide(who([minute(1), day(10)]), 1);
    await vt.run(T0 + 1_000);
    expect(await decision).toEqual({ outcome: 'failed-open', now: T0 + 40 });
    expect(fleet.errors).toBe(1);
    expect(fleet.billed).toBe(0);
  });

  it('with the ephemeral cache, rejects a blocked identifier in that isolate without a call', async () => {
    const { vt, fleet } = fleetOf({ rttMs: 20, variant: 'upstash-cache' });
    const one = who([minute(1)]);
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++) {
      const d = fleet.decide(one, 1);
      await vt.run(T0 + (i + 1) * 100);
      outcomes.push((await d).outcome);
    }
    expect(outcomes).toEqual(['allowed', 'rejected', 'rejected', 'rejected']);
    expect(fleet.httpCalls).toBe(2);
    expect(fleet.billed).toBe(5 + 3);
  });
});

/** One pro identity (one window of 100 a minute), 50 requests/s for 10 s inside one minute. */
const BILLING_SCENARIO: Scenario = {
  ...DEFAULT_SCENARIO,
  name: 'upstash-billing',
  durationMs: 10_000,
  startOffsetMs: 0,
  locations: 1,
  rtt: { medianMs: 0, p99Ms: 0, localMedianMs: 0, jitterSigma: 0 },
  isolatesPerLocation: 1,
  isolateLifetimeMs: 1e12,
  evictEveryMs: 1e12,
  evictShare: 0,
  redisIncidents: [],
  identities: 1,
  tierShares: { anonymous: 0, free: 0, pro: 1, enterprise: 0 },
  tierWindows: { ...DEFAULT_SCENARIO.tierWindows, pro: [minute(100)] },
  backgroundRps: 50,
  bursts: 0,
  bigCustomer: null,
  attacker: null,
  quantumMs: 0,
};

describe('simulate with the upstash rows', () => {
  it('bills what the script runs: 5 for the first request, 4 per allowed, 3 per rejected', async () => {
    const { row } = await simulate(BILLING_SCENARIO, 'upstash');
    const rejected = Math.round((row.rejectedPct * row.requests) / 100);
    expect(row.requests).toBeGreaterThan(400);
    expect(rejected).toBe(row.requests - 100);
    const billed = Math.round(row.perRequest.redisCommands * row.requests);
    expect(billed).toBe(5 + 4 * 99 + 3 * rejected);
    expect(row.perRequest.redisHttpCalls).toBe(1);
    expect(row.perRequest.doRequests).toBe(0);
    expect(row.perRequest.kvReads).toBe(0);
    // Redis commands only: $2.00 per million commands.
    expect(row.costPerMillionUsd.store).toBeCloseTo(row.perRequest.redisCommands * 2, 10);
    expect(row.overshootPct).toBe(0);
    expect(row.falseRejectionPct).toBe(0);
  });

  it('with the cache, decides the same and sends one rejected request to Redis, then none', async () => {
    const plain = (await simulate(BILLING_SCENARIO, 'upstash')).row;
    const { row } = await simulate(BILLING_SCENARIO, 'upstash-cache');
    expect(row.requests).toBe(plain.requests);
    expect(row.rejectedPct).toBe(plain.rejectedPct);
    expect(Math.round(row.perRequest.redisCommands * row.requests)).toBe(5 + 4 * 99 + 3);
  });
});
