/** The simulated fleet's figures (`scripts/sim/fleet.ts`), driven through its own isolates and objects. */
import { describe, expect, it } from 'vitest';
import { AGREEMENT_SCENARIO, minute, type Scenario } from '../../scripts/sim/scenario';
import { decide } from '../../src/limiter/decide';
import { setLogSink } from '../../src/telemetry/log';
import { simFleet } from '../support/sim-fleet';

describe('Fleet.pendingUnits (the Redis backlog)', () => {
  it('leaves out an object that owes Redis nothing, though its storage still counts a give-back', async () => {
    // One isolate, no latency; Redis down from 1 s to 3 s.
    const scenario: Scenario = { ...AGREEMENT_SCENARIO, locations: 1, isolatesPerLocation: 1 };
    const { fleet, vt, start, redis } = simFleet(scenario, 1, (at) => [
      { from: at + 1_000, to: at + 3_000, kind: 'down' },
    ]);
    const policy = {
      windows: [minute(1_000)],
      failMode: 'open' as const,
      consistency: 'fast' as const,
    };
    const outcomes: string[] = [];
    const request = (identity: string) => () => {
      void decide({
        store: fleet.isolateAt(0).store,
        identity,
        policy,
        clock: { now: () => vt.now },
      }).then((d) => outcomes.push(d.outcome));
    };
    // Two requests: a first contact, then a lease of a few dozen units (saved to storage at
    // once: more than the units an object may leave unsaved), all of it unused.
    vt.at(start, request('c:a'));
    vt.at(start + 10, request('c:a'));
    // At 2 s the object's alarm cannot send Redis the lease (down); it retries at 4 s.
    // At 2.5 s a request for another identity returns c:a's expired lease: a give-back, in
    // memory only until the next save. The retry then sends Redis the snapshot without it.
    vt.at(start + 2_500, request('c:b'));
    const previousSink = setLogSink(() => {}); // the outage's write-behind errors
    let whileOwing: number;
    try {
      await vt.run(start + 3_500);
      whileOwing = fleet.pendingUnits();
      await vt.run(start + 8_000);
    } finally {
      setLogSink(previousSink);
    }

    expect(outcomes).toEqual(['allowed', 'allowed', 'allowed']);
    expect(redis.failures).toBeGreaterThan(0);
    // Before the retry c:a's storage counted its lease and Redis nothing of it.
    expect(whileOwing).toBeGreaterThan(10);
    // c:a's storage still counts the lease given back (nothing asked for a save since), Redis
    // does not: storage counts more, and the object owes Redis nothing.
    expect(fleet.pendingUnits()).toBe(0);
  });
});

describe("a hot identity's objects in the fleet (busiestPerSecond, objectsOf)", () => {
  it('counts a sharded identity in its shards, the busiest shard per second as its figure', async () => {
    const scenario: Scenario = { ...AGREEMENT_SCENARIO, locations: 1, isolatesPerLocation: 4 };
    const { fleet, vt, start } = simFleet(scenario);
    const policy = {
      windows: [minute(1_500_000)],
      failMode: 'open' as const,
      consistency: 'fast' as const,
    };
    let allowed = 0;
    // 4 isolates, 200 requests each over 2 s: each on the shard its drawn phase puts it on.
    for (let i = 0; i < 800; i++) {
      vt.at(start + Math.floor(i * 2.5), () => {
        void decide({
          store: fleet.isolateAt(i % 4).store,
          identity: 'c:hot',
          policy,
          clock: { now: () => vt.now },
        }).then((d) => {
          if (d.outcome === 'allowed') allowed++;
        });
      });
    }
    await vt.run(start + 5_000);
    expect(allowed).toBe(800);
    const objects = fleet.objectsOf('c:hot');
    expect(objects).toBeGreaterThan(1);
    expect(objects).toBeLessThanOrEqual(5);
    expect(fleet.perSecond('c:hot')).toEqual([]);
    const busiest = fleet.busiestPerSecond('c:hot');
    expect(busiest.length).toBeGreaterThan(0);
    // Each second's figure is one shard's, never the shards' sum.
    const shards = Array.from({ length: 5 }, (_, k) => fleet.perSecond(`c:hot~shard:${k}`));
    busiest.forEach((n, s) => {
      expect(n).toBe(Math.max(...shards.map((p) => p[s] ?? 0)));
    });
  });
});
