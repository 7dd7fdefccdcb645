/** Sharding a hot identity: where its checks go, what they answer, and what a read sums. */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock';
import type { CheckRequest, CounterStore, PolicyWindow } from '../../src/limiter/contract';
import { customerIdentity } from '../../src/limiter/keys';
import type { LimiterObject } from '../../src/objects/limiter-object';
import { createDurableObjectStore } from '../../src/store/durable-object-store';
import { withLeases } from '../../src/store/lease-store';
import { createMemoryLeaser, createMemoryStore } from '../../src/store/memory-store';
import { dwellMs, shardAt, shardIdentity, shardWindows } from '../../src/store/shard-rules';
import { withShards } from '../../src/store/shard-store';
import { testWorker } from '../support/app';
import { createCustomer } from '../support/customers';
import { PINNED_T0 } from '../support/pinned-time';

/** A memory store that records what reached it. */
function recording(clock: ReturnType<typeof manualClock>) {
  const inner = createMemoryStore(clock);
  const seen: CheckRequest[] = [];
  const store: CounterStore = {
    name: 'memory',
    check: (request) => {
      seen.push(request);
      return inner.check(request);
    },
  };
  return { store, seen };
}

const hot: PolicyWindow[] = [{ id: 'minute', window: '1m', limit: 1_500_000, windowMs: 60_000 }];
const fixed = (phase: number) => () => phase;

describe('withShards', () => {
  it("sends a hot identity's fast checks to the shard of the moment, with that shard's part", async () => {
    const clock = manualClock(PINNED_T0);
    const { store, seen } = recording(clock);
    const sharded = withShards(store, { now: clock.now, random: fixed(0.5) });
    const dwell = dwellMs(hot, 5);
    const shards = new Set<string>();
    for (let turn = 0; turn < 5; turn++) {
      const outcome = await sharded.check({ identity: 'c:big', windows: hot, fast: true });
      expect(outcome.allowed).toBe(true);
      expect(outcome.windows[0]?.limit).toBe(1_500_000);
      // One unit used of a 300,000 part reads as 5 of the whole.
      expect(outcome.windows[0]?.remaining).toBe(1_499_995);
      const reached = seen.at(-1);
      expect(reached?.windows[0]?.limit).toBe(300_000);
      expect(reached?.identity).toBe(`c:big~shard:${shardAt(clock.now(), 5, dwell, 0.5)}`);
      shards.add(reached?.identity ?? '');
      clock.advance(dwell);
    }
    expect(shards.size).toBe(5);
  });

  it('lets exact checks, small limits and forced charges through unchanged', async () => {
    const clock = manualClock(PINNED_T0);
    const { store, seen } = recording(clock);
    const sharded = withShards(store, { now: clock.now, random: fixed(0) });
    const requests: CheckRequest[] = [
      { identity: 'c:big', windows: hot },
      {
        identity: 'c:small',
        windows: [{ id: 'minute', limit: 1_000, windowMs: 60_000 }],
        fast: true,
      },
      { identity: 'c:big', windows: hot, fast: true, consume: 'force' },
      { identity: 'c:big', windows: hot, consume: false },
    ];
    for (const request of requests) await sharded.check(request);
    expect(seen).toEqual(requests);
  });

  it('holds isolates on different shards to the whole limit together', async () => {
    const clock = manualClock(PINNED_T0);
    const { store } = recording(clock);
    const windows: PolicyWindow[] = [
      { id: 'minute', window: '1m', limit: 600_003, windowMs: 60_000 },
    ];
    const isolates = [0, 0.3, 0.6].map((p) =>
      withShards(store, { now: clock.now, random: fixed(p) }),
    );
    let allowed = 0;
    // 650,000 asks in 32.5 s, the isolates turning through both shards (30 s turns).
    for (let i = 0; i < 650_000; i++) {
      const isolate = isolates[i % 3];
      if (!isolate) throw new Error('no isolate');
      if ((await isolate.check({ identity: 'c:hot', windows, fast: true })).allowed) allowed++;
      if (i % 20 === 0) clock.advance(1);
    }
    expect(allowed).toBe(600_003);
  });

  it("reads a hot identity's every shard and sums them, the unsharded object too with a rule", async () => {
    const clock = manualClock(PINNED_T0);
    const { store } = recording(clock);
    const rule: PolicyWindow = {
      id: 'search:second',
      window: '1s',
      limit: 10,
      windowMs: 1_000,
      rule: 'search',
    };
    const isolates = [0, 0.2, 0.4, 0.6, 0.8].map((p) =>
      withShards(store, { now: clock.now, random: fixed(p) }),
    );
    for (const isolate of isolates) {
      for (let i = 0; i < 7; i++)
        await isolate.check({ identity: 'c:big', windows: hot, fast: true });
    }
    // Three requests with the rule's small window: unsharded, counted at c:big itself.
    for (let i = 0; i < 3; i++) {
      await isolates[0]?.check({ identity: 'c:big', windows: [...hot, rule], fast: true });
    }
    const read = await isolates[1]?.check({
      identity: 'c:big',
      windows: [...hot, rule],
      consume: false,
      fast: true,
    });
    expect(read?.windows.map((w) => [w.id, w.limit, w.used, w.remaining])).toEqual([
      ['minute', 1_500_000, 38, 1_499_962],
      ['search:second', 10, 3, 7],
    ]);
    expect(read?.allowed).toBe(true);
  });
});

describe('a hot identity whose limit changes the shard count', () => {
  it('keeps what the shards both counts have counted: 5 -> 6 shards forgets nothing', async () => {
    const clock = manualClock(PINNED_T0);
    const { store } = recording(clock);
    const isolates = [0, 0.2, 0.4, 0.6, 0.8].map((p) =>
      withShards(store, { now: clock.now, random: fixed(p) }),
    );
    for (const isolate of isolates) {
      for (let i = 0; i < 7; i++)
        await isolate.check({ identity: 'c:big', windows: hot, fast: true });
    }
    // Raised to 1.8 million a minute: 6 shards of 300,000; shards 0-4 still hold their 7 each.
    const raised: PolicyWindow[] = [
      { id: 'minute', window: '1m', limit: 1_800_000, windowMs: 60_000 },
    ];
    const read = await isolates[0]?.check({
      identity: 'c:big',
      windows: raised,
      consume: false,
      fast: true,
    });
    expect(read?.windows[0]?.used).toBe(35);
    expect(read?.windows[0]?.remaining).toBe(1_800_000 - 35);
  });
});

describe('leases of a hot identity turning through its shards', () => {
  it('asks a shard it turns back to for what its stream needs, not for a quiet spell', async () => {
    const clock = manualClock(PINNED_T0);
    const grant = createMemoryLeaser(clock);
    const asks: { identity: string; units: number; at: number }[] = [];
    const leases = withLeases(
      createMemoryStore(clock),
      (request, ask) => {
        asks.push({ identity: request.identity, units: ask.units, at: clock.now() });
        return grant(request, ask);
      },
      { clock, random: () => 0.5 },
    );
    const sharded = withShards(leases, { now: clock.now, random: fixed(0) });
    // 100 requests a second for 100 s: every shard visited twice, 48 s apart.
    for (let i = 0; i < 10_000; i++) {
      const outcome = await sharded.check({ identity: 'c:hot', windows: hot, fast: true });
      expect(outcome.allowed).toBe(true);
      await leases.settled();
      clock.advance(10);
    }
    const dwell = dwellMs(hot, 5);
    const turnOf = (at: number) => Math.floor(at / dwell);
    // The first ask each shard gets in each of its turns after the first cycle (not the returns
    // of what it leased in its last turn, which come after that turn).
    const firsts = new Map<string, { identity: string; units: number; at: number }>();
    for (const ask of asks) {
      const current = ask.identity === shardIdentity('c:hot', shardAt(ask.at, 5, dwell, 0));
      const key = `${ask.identity}@${turnOf(ask.at)}`;
      if (current && !firsts.has(key) && ask.at >= PINNED_T0 + 5 * dwell) firsts.set(key, ask);
    }
    expect(firsts.size).toBeGreaterThanOrEqual(3);
    // 100 requests a second, leased for 2 s with headroom 2: about 400 units, never 0 or 1.
    for (const ask of firsts.values()) expect(ask.units).toBeGreaterThanOrEqual(300);
  });
});

describe('a hot identity through the worker (fast, real Durable Objects)', () => {
  it('counts at its shards, shows the whole limit, and /rate_limit sums the shards', async () => {
    const worker = testWorker({ CONSISTENCY: 'fast' });
    const customer = await createCustomer(env.CONFIG, {
      tier: 'enterprise',
      limits: [{ limit: 1_500_000, window: '1m' }],
    });
    for (let i = 0; i < 30; i++) {
      const response = await worker.fetch('/v1/things', { headers: customer.headers });
      expect(response.status).toBe(200);
      expect(response.headers.get('X-RateLimit-Limit')).toBe('1500000');
    }
    const view = await worker.fetch('/_edgelimit/rate_limit', { headers: customer.headers });
    const { windows } = (await view.json()) as { windows: { id: string; remaining: number }[] };
    expect(windows.find((w) => w.id === 'minute')?.remaining).toBe(1_500_000 - 30);

    // At the objects: the identity's own counted nothing; its shards hold the units (leased
    // included, so at least the 30 served).
    const objects = createDurableObjectStore(env.LIMITER as DurableObjectNamespace<LimiterObject>);
    const minute = [{ id: 'minute', limit: 1_500_000, windowMs: 60_000 }];
    const identity = customerIdentity(customer.customerId);
    const own = await objects.check({ identity, windows: minute, consume: false });
    expect(own.windows[0]?.used).toBe(0);
    let atShards = 0;
    for (let k = 0; k < 5; k++) {
      const part = await objects.check({
        identity: shardIdentity(identity, k),
        windows: shardWindows(minute, 5, k),
        consume: false,
      });
      atShards += part.windows[0]?.used ?? 0;
    }
    expect(atShards).toBeGreaterThanOrEqual(30);
  });
});
