import { evictDurableObject, runDurableObjectAlarm } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import fc from 'fast-check';
import { describe, expect, inject, it } from 'vitest';
import { currentBucket } from '../../src/limiter/algorithms/sliding-window/arithmetic';
import { windowKey } from '../../src/limiter/algorithms/sliding-window/keys';
import type { CounterStore, WindowSpec } from '../../src/limiter/contract';
import type { LimiterObject } from '../../src/objects/limiter-object';
import { createDurableObjectStore } from '../../src/store/durable-object-store';
import { createMemoryStore } from '../../src/store/memory-store';
import { createRedisStore } from '../../src/store/redis-store';
import { FLUSH_UNITS } from '../../src/store/write-behind';
import { uniqueId } from '../support/customers';
import { testRedis } from '../support/redis';

const namespace = env.LIMITER as DurableObjectNamespace<LimiterObject>;
const upstash = () => ({ url: inject('upstashUrl'), token: inject('upstashToken') });
const T0 = 1_800_000_000_000;

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
  const key = windowKey(identity, spec);
  await testRedis().hincrby(key, String(currentBucket(now, spec.windowMs, spec.limit)), count);
  await testRedis().pexpire(key, 120_000);
}

describe('store modes', () => {
  it('give the same decisions on the same traces', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 5, maxLength: 40 }),
        fc.integer({ min: 1, max: 6 }),
        async (gaps, limit) => {
          const windows: WindowSpec[] = [
            { id: 'burst', limit, windowMs: 1_000 },
            { id: 'long', limit: limit * 3, windowMs: 5_000 },
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
  it('loses no acknowledged count when the object is evicted', async () => {
    const identity = `c:${uniqueId('evict')}`;
    const store = createDurableObjectStore(namespace);
    const windows = [{ id: 'minute', limit: 50, windowMs: 60_000 }];
    const now = Date.now();
    for (let i = 0; i < 7; i++)
      expect((await store.check({ identity, windows, now })).allowed).toBe(true);

    await evictDurableObject(namespace.get(namespace.idFromName(identity)));
    const after = await store.check({ identity, windows, now: now + 1 });
    expect(after.windows[0]?.used).toBe(8);
  });

  it('writes counts behind to Redis in batches, far fewer commands than checks', async () => {
    const identity = `c:${uniqueId('wb')}`;
    const store = createDurableObjectStore(namespace, { writeBehind: upstash() });
    const windows = [{ id: 'minute', limit: 10_000, windowMs: 60_000 }];
    const stub = namespace.get(namespace.idFromName(identity));
    const now = Date.now();
    const checks = FLUSH_UNITS * 3 + 17;
    for (let i = 0; i < checks; i++) await store.check({ identity, windows, now });
    await runDurableObjectAlarm(stub);

    const hash = await testRedis().hgetall<Record<string, number>>(
      windowKey(identity, windows[0] as WindowSpec),
    );
    const total = Object.values(hash ?? {}).reduce((a, b) => a + Number(b), 0);
    expect(total).toBe(checks);
    const commands = await stub.redisCommands();
    // One HGETALL for the cold reload, then one merge per flush (plus a possible NOSCRIPT retry).
    expect(commands).toBeLessThanOrEqual(1 + 5 + 1);
    expect(commands / checks).toBeLessThanOrEqual(0.05);
  });

  it('flushes what a restarted object still owes Redis from its alarm, with no request after the restart', async () => {
    const identity = `c:${uniqueId('wb-restart')}`;
    const store = createDurableObjectStore(namespace, { writeBehind: upstash() });
    const windows = [{ id: 'minute', limit: 10_000, windowMs: 60_000 }];
    const stub = namespace.get(namespace.idFromName(identity));
    const now = Date.now();
    for (let i = 0; i < 7; i++) await store.check({ identity, windows, now });
    // Evicted before its flush: the new instance only has its storage and its alarm.
    await evictDurableObject(stub);
    expect(await runDurableObjectAlarm(stub)).toBe(true);

    const hash = await testRedis().hgetall<Record<string, number>>(
      windowKey(identity, windows[0] as WindowSpec),
    );
    expect(Object.values(hash ?? {}).reduce((a, b) => a + Number(b), 0)).toBe(7);
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
