/** The simulation's causes of wrong decisions: the paths noted, the judge's sums, evictions. */
import { describe, expect, it } from 'vitest';
import {
  CauseTracker,
  causeOf,
  causeReport,
  EvictionLosses,
  SLOW_MS,
  WaitTally,
} from '../../scripts/sim/causes';
import { CONTESTED_MS, DecisionLog } from '../../scripts/sim/judge';
import { SimStorage, simLimiterObject } from '../../scripts/sim/sim-object';
import { manualClock } from '../../src/clock';
import { decide } from '../../src/limiter/decide';
import { withBlockedCache } from '../../src/store/blocked-cache';
import { withLeases } from '../../src/store/lease-store';
import { createMemoryStore } from '../../src/store/memory-store';
import { withShards } from '../../src/store/shard-store';
import { PINNED_T0 } from '../support/pinned-time';

const minute = { id: 'minute', limit: 3, windowMs: 60_000, window: '1m' };

describe('causeOf', () => {
  it('names the last path, after a wait, failures by where they failed, the L1', () => {
    expect(causeOf(['lease'], 'allowed')).toBe('lease');
    expect(causeOf(['wait', 'lease'], 'allowed')).toBe('lease after wait');
    expect(causeOf(['wait'], 'failed-open')).toBe('failed: wait for renewal');
    expect(causeOf(['failing'], 'failed-open')).toBe('failed: last renewal failed');
    expect(causeOf([], 'rejected')).toBe('L1 block');
    expect(causeOf([], 'allowed')).toBe('untagged');
  });
});

describe('DecisionLog by cause', () => {
  it('sorts overshoot and false rejections by cause, marking overshoot after a loss', () => {
    const log = new DecisionLog([minute]);
    for (let i = 0; i < 3; i++) log.add(1_000 + i, true, 'lease');
    log.add(2_000, true, 'first-contact'); // 4th in the minute: overshoot
    log.add(3_000, false, 'refusal-held'); // no room: right
    log.add(70_000, false, 'L1 block'); // the first three left the window: room
    const lost = new EvictionLosses();
    lost.record(1_500, [
      { identity: 'a', unsavedUnits: 3 },
      { identity: 'b', unsavedUnits: 0 },
    ]);
    const j = log.judge(undefined, lost.lossWithin('a'));
    expect(j.byCause.get('first-contact')).toEqual({
      overshoot: 1,
      falseRejections: 0,
      contested: 0,
      overshootAfterLoss: 1,
    });
    expect(j.byCause.get('L1 block')?.falseRejections).toBe(1);
    expect(j.byCause.get('refusal-held')).toBeUndefined();
    expect(lost.lossWithin('b')).toBeUndefined();
    const report = causeReport(['free'], [j], lost);
    expect(report.rows.map((r) => r.cause)).toEqual(['first-contact', 'L1 block']);
    expect(report.rows[0]?.perTier.free?.overshoot).toBe(1);
    expect(report.evictions).toEqual({ count: 2, withLoss: 1, unitsLost: 3 });
  });

  it('does not mark overshoot whose loss left the window before it', () => {
    const log = new DecisionLog([minute]);
    for (let i = 0; i < 4; i++) log.add(100_000 + i, true, 'lease');
    const lost = new EvictionLosses();
    lost.record(10_000, [{ identity: 'a', unsavedUnits: 5 }]);
    const j = log.judge(undefined, lost.lossWithin('a'));
    expect(j.byCause.get('lease')).toEqual({
      overshoot: 1,
      falseRejections: 0,
      contested: 0,
      overshootAfterLoss: 0,
    });
  });

  it('marks a false rejection contested when a unit left the window less than CONTESTED_MS before it', () => {
    const second = { id: 's', limit: 1, windowMs: 1_000, window: '1s' };
    const log = new DecisionLog([second]);
    log.add(0, true, 'lease');
    // The unit leaves at 1,000: a rejection 10 ms later loses the contest for it...
    log.add(1_010, false, 'refusal-in-flight');
    // ... one 200 ms later is wrong too, but nothing had just freed.
    log.add(1_200, false, 'L1 block');
    const j = log.judge();
    expect(CONTESTED_MS).toBe(50);
    expect(j.byCause.get('refusal-in-flight')).toMatchObject({ falseRejections: 1, contested: 1 });
    expect(j.byCause.get('L1 block')).toMatchObject({ falseRejections: 1, contested: 0 });
    // Nothing ever left the window: a rejection with room all along is not contested either.
    const fresh = new DecisionLog([second]);
    fresh.add(5, false, 'L1 block');
    expect(fresh.judge().byCause.get('L1 block')).toMatchObject({
      falseRejections: 1,
      contested: 0,
    });
  });
});

describe('WaitTally', () => {
  it('counts requests above SLOW_MS by cause and tier, with their mean wait, most first', () => {
    const waits = new WaitTally();
    waits.add('lease after wait', 'free', 40);
    waits.add('lease after wait', 'pro', 20);
    waits.add('refusal-answer after wait', 'free', 250);
    // At or under the bound: not waiting.
    waits.add('lease', 'free', SLOW_MS);
    waits.add('lease', 'free', 0);
    expect(SLOW_MS).toBe(1);
    const report = causeReport([], [], new EvictionLosses(), waits);
    expect(report.waits).toEqual([
      { cause: 'lease after wait', requests: 2, meanMs: 30, perTier: { free: 1, pro: 1 } },
      { cause: 'refusal-answer after wait', requests: 1, meanMs: 250, perTier: { free: 1 } },
    ]);
  });
});

/** The lease store of one isolate over the object's own logic (no Redis), on `clock`. */
function leasesOverSimObject(clock: ReturnType<typeof manualClock>) {
  const core = simLimiterObject({
    now: clock.now,
    storage: new SimStorage(),
    scheduleAlarm: () => {},
    redis: { get: async () => null, set: async () => {} },
    onRedisCall: () => {},
    redisConfigured: false,
  });
  return withLeases(createMemoryStore(clock), (r, ask) => core.lease(r, ask), { clock });
}

describe('CauseTracker over the real lease store and object', () => {
  it('notes the path of each decision without changing it', async () => {
    const clock = manualClock(PINNED_T0);
    const leases = leasesOverSimObject(clock);
    const store = withBlockedCache(leases, clock);
    const tracker = new CauseTracker();
    const policy = { windows: [minute], failMode: 'open' as const, consistency: 'fast' as const };
    const once = async (
      p: typeof policy | { windows: (typeof minute)[]; failMode: 'open' },
      who = 'who',
    ) => {
      const tracked = tracker.track(store);
      const d = await decide({ store: tracked.store, identity: who, policy: p, clock });
      await leases.settled();
      clock.advance(1);
      return `${d.outcome}: ${tracked.cause(d.outcome)}`;
    };
    tracker.start();
    try {
      const causes = [];
      for (let i = 0; i < 5; i++) causes.push(await once(policy));
      causes.push(await once({ windows: [minute], failMode: 'open' }, 'other'));
      // limit 3: one unit at first contact (its ask carries it as debt and asks for no more),
      // the next request waits for a lease, then uses it; the 4th is refused by the answer
      // that refusal brought, the 5th by the L1 that remembered it.
      expect(causes).toEqual([
        'allowed: first-contact',
        'allowed: lease after wait',
        'allowed: lease',
        'rejected: refusal-held',
        'rejected: L1 block',
        'allowed: exact',
      ]);
    } finally {
      tracker.stop();
    }
    // Stopped: notes go nowhere.
    const tracked = tracker.track(store);
    const d = await decide({ store: tracked.store, identity: 'who2', policy, clock });
    expect(tracked.cause(d.outcome)).toBe('untagged');
  });

  it("notes the paths of a sharded identity's requests, which reach the lease store as a shard's", async () => {
    const clock = manualClock(PINNED_T0);
    const leases = leasesOverSimObject(clock);
    const store = withBlockedCache(withShards(leases, { now: clock.now, random: () => 0 }), clock);
    // 1.5 million a minute: 5 shards (SHARD_UNITS_PER_SECOND), each request one shard's part.
    const big = { id: 'minute', limit: 1_500_000, windowMs: 60_000, window: '1m' };
    const policy = { windows: [big], failMode: 'open' as const, consistency: 'fast' as const };
    const identities: string[] = [];
    const tracker = new CauseTracker();
    const seen = leases.check;
    leases.check = (r) => {
      identities.push(r.identity);
      return seen(r);
    };
    tracker.start();
    try {
      const causes = [];
      for (let i = 0; i < 3; i++) {
        const tracked = tracker.track(store);
        const d = await decide({ store: tracked.store, identity: 'big', policy, clock });
        await leases.settled();
        clock.advance(1);
        causes.push(`${d.outcome}: ${tracked.cause(d.outcome)}`);
      }
      expect(identities.every((id) => id !== 'big' && id.startsWith('big'))).toBe(true);
      expect(causes).toEqual(['allowed: first-contact', 'allowed: lease', 'allowed: lease']);
    } finally {
      tracker.stop();
    }
  });
});
