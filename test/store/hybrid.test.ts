import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import fc from 'fast-check';
import { describe, expect, inject, it } from 'vitest';
import type { Cells } from '../../src/limiter/algorithm';
import { currentBucket } from '../../src/limiter/algorithms/sliding-window/arithmetic';
import { windowKey } from '../../src/limiter/algorithms/sliding-window/keys';
import type { CounterStore, WindowSpec } from '../../src/limiter/contract';
import { snapshotKey } from '../../src/limiter/keys';
import type { LimiterObject } from '../../src/objects/limiter-object';
import { createDurableObjectStore } from '../../src/store/durable-object-store';
import { createMemoryStore } from '../../src/store/memory-store';
import { createRedisStore } from '../../src/store/redis-store';
import { unsavedLimit } from '../../src/store/save-plan';
import { decodeWindows, encodeWindows } from '../../src/store/snapshot-codec';
import { rowName } from '../../src/store/storage-layout';
import { uniqueId } from '../support/customers';
import { PINNED_T0 } from '../support/pinned-time';
import { testRedis } from '../support/redis';

const namespace = env.LIMITER as DurableObjectNamespace<LimiterObject>;
const upstash = () => ({ url: inject('upstashUrl'), token: inject('upstashToken') });
const T0 = PINNED_T0;

/** Every store mode, fresh, each answering for its own identity namespace. */
function allStores(): Record<string, CounterStore> {
  return {
    memory: createMemoryStore(),
    'durable-object': createDurableObjectStore(namespace),
    redis: createRedisStore({ redis: testRedis() }),
    hybrid: createDurableObjectStore(namespace, { writeBehind: upstash() }),
  };
}

/** Writes `count` units at `now` straight into Redis, as an earlier life of the object would. */
async function seedRedisWindow(identity: string, spec: WindowSpec, now: number, count: number) {
  const cells: Cells = new Map([[currentBucket(now, spec.windowMs, spec.limit), count]]);
  await testRedis().set(
    snapshotKey(identity),
    JSON.stringify(encodeWindows([[windowKey(identity, spec), cells]])),
    { px: 120_000 },
  );
}

/** Units the identity's Redis snapshot counts in one window (all its cells). */
async function redisUnits(identity: string, spec: WindowSpec): Promise<number> {
  const value = await testRedis().get(snapshotKey(identity));
  const cells = decodeWindows(value).get(windowKey(identity, spec)) ?? new Map();
  return [...cells.values()].reduce((a, b) => a + b, 0);
}

describe('store modes', () => {
  it('give the same decisions on the same traces', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 2_000 }), { minLength: 5, maxLength: 40 }),
        fc.integer({ min: 1, max: 6 }),
        async (gaps, limit) => {
          // Seconds long, not one: Redis expires its keys on its own clock, and a machine stalled
          // for a second between two checks must not empty a window the pinned clock still has.
          const windows: WindowSpec[] = [
            { id: 'burst', limit, windowMs: 5_000 },
            { id: 'long', limit: limit * 3, windowMs: 25_000 },
          ];
          const stores = allStores();
          const run = uniqueId('same');
          const results: Record<string, string[]> = {};
          for (const [mode, store] of Object.entries(stores)) {
            let t = T0;
            results[mode] = [];
            for (const gap of gaps) {
              t += gap;
              const o = await store.check({ identity: `c:${run}-${mode}`, windows, now: t });
              results[mode]?.push(
                `${o.allowed}:${o.windows.map((w) => `${w.used}/${w.retryAt}/${w.resetAt}`).join(',')}`,
              );
            }
          }
          expect(results['durable-object']).toEqual(results.memory);
          expect(results.redis).toEqual(results.memory);
          expect(results.hybrid).toEqual(results.memory);
        },
      ),
      { numRuns: 12 },
    );
  });
});

describe('LimiterObject', () => {
  it('keeps what its alarm saved when it is evicted afterwards', async () => {
    const identity = `c:${uniqueId('evict')}`;
    const store = createDurableObjectStore(namespace);
    const windows = [{ id: 'minute', limit: 50, windowMs: 60_000 }];
    const stub = namespace.get(namespace.idFromName(identity));
    const now = Date.now();
    for (let i = 0; i < 7; i++)
      expect((await store.check({ identity, windows, now })).allowed).toBe(true);
    expect(await runDurableObjectAlarm(stub)).toBe(true);

    await evictDurableObject(stub);
    const after = await store.check({ identity, windows, now: now + 1 });
    expect(after.windows[0]?.used).toBe(8);
  });

  it('loses fewer than unsavedLimit units per window when evicted before its alarm', async () => {
    const identity = `c:${uniqueId('crash')}`;
    const store = createDurableObjectStore(namespace);
    const spec: WindowSpec = { id: 'minute', limit: 50, windowMs: 60_000 };
    const stub = namespace.get(namespace.idFromName(identity));
    const now = Date.now();
    // 10 (the unsaved limit of 50/min) are saved within the 10th decision; 3 more are not.
    const checks = unsavedLimit(spec.limit) + 3;
    for (let i = 0; i < checks; i++) await store.check({ identity, windows: [spec], now });
    expect(await stub.unsavedUnits()).toBe(3);

    await evictDurableObject(stub);
    const after = await store.check({ identity, windows: [spec], now: now + 1 });
    expect(after.windows[0]?.used).toBe(unsavedLimit(spec.limit) + 1);
    expect(checks + 1 - (after.windows[0]?.used ?? 0)).toBeLessThan(unsavedLimit(spec.limit));
  });

  it('writes its storage per batch: one snapshot row for 300 decisions, and one alarm', async () => {
    const identity = `c:${uniqueId('rows')}`;
    const store = createDurableObjectStore(namespace, { writeBehind: upstash() });
    const windows: WindowSpec[] = [
      { id: 'minute', limit: 100_000, windowMs: 60_000 },
      { id: 'day', limit: 1_000_000, windowMs: 86_400_000 },
    ];
    const stub = namespace.get(namespace.idFromName(identity));
    // A minute ahead: the object's own alarm (2 s after the first unsaved change, on the pinned
    // clock) cannot fire while 300 checks run on a loaded machine, before the test's own.
    const now = Date.now() + 60_000;
    for (let i = 0; i < 300; i++) await store.check({ identity, windows, now: now + i });
    const before = await runInDurableObject(stub, async (_o, state) => ({
      entries: [...(await state.storage.list()).keys()],
      alarm: await state.storage.getAlarm(),
    }));
    // 300 < unsavedLimit(100_000) = 1,000: nothing was written yet but the alarm.
    expect(before.entries).toEqual([]);
    expect(before.alarm).toBeGreaterThan(Date.now() - 1_000);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const saved = await runInDurableObject(stub, async (_o, state) => [
      ...(await state.storage.list()).keys(),
    ]);
    expect(saved).toEqual([rowName(0)]);
    await evictDurableObject(stub);
    const peek = await store.check({ identity, windows, now: now + 300, consume: false });
    expect(peek.windows.map((w) => w.used)).toEqual([300, 300]);
  });

  it('leaves no alarm once its batch is saved and sent: no sweep alarm for a quiet identity (each alarm set is a row written)', async () => {
    const identity = `c:${uniqueId('nosweep')}`;
    const store = createDurableObjectStore(namespace, { writeBehind: upstash() });
    const spec: WindowSpec = { id: 'minute', limit: 100, windowMs: 60_000 };
    const stub = namespace.get(namespace.idFromName(identity));
    // A minute ahead, as above: only the test's alarms save and send.
    const now = Date.now() + 60_000;
    for (let i = 0; i < 3; i++) await store.check({ identity, windows: [spec], now: now + i });
    const alarmAt = () => runInDurableObject(stub, (_o, state) => state.storage.getAlarm());
    // The batch's alarm; then the one the cold window's reload (its GET) may have asked for to
    // save what it brought, due within seconds.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    for (let runs = 0; runs < 3; runs++) {
      const at = await alarmAt();
      if (at === null || at > Date.now() + 10_000) break;
      await runDurableObjectAlarm(stub);
    }
    const entries = await runInDurableObject(stub, async (_o, state) => [
      ...(await state.storage.list()).keys(),
    ]);
    expect(entries).toEqual([rowName(0)]);
    expect(await redisUnits(identity, spec)).toBe(3);
    // Before: a sweep alarm 60 s after the last cell stopped counting, two minutes ahead.
    expect(await alarmAt()).toBeNull();
  });

  it('sends Redis one SET per batch: 317 checks cost one GET (cold) and one SET', async () => {
    const identity = `c:${uniqueId('wb')}`;
    const store = createDurableObjectStore(namespace, { writeBehind: upstash() });
    const spec: WindowSpec = { id: 'minute', limit: 10_000, windowMs: 60_000 };
    const stub = namespace.get(namespace.idFromName(identity));
    // A minute ahead, as above: only the test's alarm sends.
    const now = Date.now() + 60_000;
    const checks = 317;
    for (let i = 0; i < checks; i++) await store.check({ identity, windows: [spec], now });
    await runDurableObjectAlarm(stub);

    expect(await redisUnits(identity, spec)).toBe(checks);
    expect(await stub.redisCommands()).toBe(2);
    const ttl = await testRedis().pttl(snapshotKey(identity));
    // Kept a window past its newest unit, which is pinned a minute ahead of the real clock.
    expect(ttl).toBeGreaterThan(110_000);
    expect(ttl).toBeLessThanOrEqual(121_000);
  });

  it('sends what a restarted object saved but never sent from its alarm, with no request after the restart', async () => {
    const identity = `c:${uniqueId('wb-restart')}`;
    const store = createDurableObjectStore(namespace, { writeBehind: upstash() });
    const spec: WindowSpec = { id: 'minute', limit: 100, windowMs: 60_000 };
    const stub = namespace.get(namespace.idFromName(identity));
    const now = Date.now();
    // The 10th decision saves to storage; the 11th and 12th stay in memory only.
    for (let i = 0; i < 12; i++) await store.check({ identity, windows: [spec], now });
    // Evicted before its alarm: the new instance only has its storage and its alarm.
    await evictDurableObject(stub);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await redisUnits(identity, spec)).toBe(unsavedLimit(spec.limit));
  });

  it('reloads from Redis only the windows its own storage lacks', async () => {
    const identity = `c:${uniqueId('merge')}`;
    const a: WindowSpec = { id: 'a', limit: 20, windowMs: 60_000 };
    const b: WindowSpec = { id: 'b', limit: 20, windowMs: 60_000 };
    const now = Date.now();
    const stub = namespace.get(namespace.idFromName(identity));
    // Storage holds window a (2 units); Redis holds a (5, stale beside storage) and b (4).
    const local = createDurableObjectStore(namespace);
    for (let i = 0; i < 2; i++) await local.check({ identity, windows: [a], now });
    await runDurableObjectAlarm(stub);
    await testRedis().set(
      snapshotKey(identity),
      JSON.stringify(
        encodeWindows([
          [windowKey(identity, a), new Map([[now, 5]])],
          [windowKey(identity, b), new Map([[now, 4]])],
        ]),
      ),
      { px: 120_000 },
    );
    await evictDurableObject(stub);

    const hybrid = createDurableObjectStore(namespace, {
      writeBehind: upstash(),
      reloadBudgetMs: 1_000,
    });
    const outcome = await hybrid.check({ identity, windows: [a, b], now });
    expect(outcome.windows.map((w) => w.used)).toEqual([3, 5]);
    expect(await stub.redisCommands()).toBe(1);
  });

  it('reloads a window from Redis when it starts cold with no storage (waiting up to a budget)', async () => {
    const identity = `c:${uniqueId('cold')}`;
    const spec: WindowSpec = { id: 'minute', limit: 10, windowMs: 60_000 };
    const now = Date.now();
    await seedRedisWindow(identity, spec, now, 9);

    const store = createDurableObjectStore(namespace, {
      writeBehind: upstash(),
      reloadBudgetMs: 1_000,
    });
    const first = await store.check({ identity, windows: [spec], now });
    expect(first.allowed).toBe(true);
    expect(first.windows[0]?.used).toBe(10);
    const second = await store.check({ identity, windows: [spec], now });
    expect(second.allowed).toBe(false);
  });

  it('loads a cold window once for concurrent requests, and none of them decides before it', async () => {
    const identity = `c:${uniqueId('cold-race')}`;
    const spec: WindowSpec = { id: 'minute', limit: 10, windowMs: 60_000 };
    const now = Date.now();
    await seedRedisWindow(identity, spec, now, 9);

    const store = createDurableObjectStore(namespace, {
      writeBehind: upstash(),
      reloadBudgetMs: 1_000,
    });
    const outcomes = await Promise.all(
      Array.from({ length: 6 }, () => store.check({ identity, windows: [spec], now })),
    );
    expect(outcomes.filter((o) => o.allowed)).toHaveLength(1);
    const stub = namespace.get(namespace.idFromName(identity));
    expect(await stub.redisCommands()).toBe(1);
  });

  it('decides at once from its own state without a budget, and merges the reload when it lands', async () => {
    const identity = `c:${uniqueId('cold-nowait')}`;
    const spec: WindowSpec = { id: 'minute', limit: 10, windowMs: 60_000 };
    const now = Date.now();
    await seedRedisWindow(identity, spec, now, 9);

    const store = createDurableObjectStore(namespace, { writeBehind: upstash() });
    const first = await store.check({ identity, windows: [spec], now });
    expect(first.allowed).toBe(true);
    // The reload lands within a few ms locally; then the window holds Redis's 9 as well as the
    // one decided meanwhile.
    let seen = 0;
    for (let i = 0; i < 50 && seen < 10; i++) {
      await new Promise((r) => setTimeout(r, 10));
      const peek = await store.check({ identity, windows: [spec], now, consume: false });
      seen = peek.windows[0]?.used ?? 0;
    }
    expect(seen).toBe(10);
    expect((await store.check({ identity, windows: [spec], now })).allowed).toBe(false);
  });
});
