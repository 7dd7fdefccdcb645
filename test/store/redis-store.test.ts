/** The Redis store and its Lua script, against real Redis behind the local Upstash server. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bucketWidth } from '../../src/limiter/algorithms/sliding-window/arithmetic';
import { windowKey } from '../../src/limiter/algorithms/sliding-window/keys';
import { parseReply } from '../../src/limiter/algorithms/sliding-window/redis-call';
import type { WindowSpec } from '../../src/limiter/contract';
import { type CheckRequest, StoreError } from '../../src/limiter/contract';
import { createMemoryStore } from '../../src/store/memory-store';
import { createRedisStore } from '../../src/store/redis-store';
import { EPOCH, traceArb, windowSpecArb } from '../support/arbitraries';
import { uniqueId } from '../support/customers';
import { testRedis } from '../support/redis';

/** A Redis store that records the commands it sends. */
function countingStore() {
  const commands: string[] = [];
  const store = createRedisStore({ redis: testRedis(), onCommand: (c) => commands.push(c) });
  return { store, commands };
}

describe('the Lua script mirrors the TypeScript window', () => {
  const requestArb = fc
    .tuple(
      fc.uniqueArray(windowSpecArb(), {
        minLength: 1,
        maxLength: 3,
        selector: (s) => s.windowMs,
      }),
    )
    .chain(([specs]) => {
      // Redis expires a key `window + bucket` after its last write in real time, while the trace
      // runs on pinned time: a window shorter than a slow trace's real duration would vanish
      // mid-trace on a busy machine. Windows start at 5 s here; pinned gaps still span them.
      const windows = specs.map((s, i) => ({
        ...s,
        id: `w${i}`,
        windowMs: Math.max(5_000, s.windowMs),
      }));
      return fc.tuple(
        fc.constant(windows),
        traceArb(Math.max(...windows.map((w) => w.windowMs)), 30),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.boolean()), {
          minLength: 30,
          maxLength: 30,
        }),
      );
    });

  it('gives identical decisions, used, retryAt and resetAt on random traces', async () => {
    const redis = createRedisStore({ redis: testRedis() });
    let rejections = 0;
    await fc.assert(
      fc.asyncProperty(requestArb, async ([windows, trace, knobs]) => {
        const memory = createMemoryStore();
        const identity = `c:${uniqueId('lua')}`;
        for (const [i, now] of trace.entries()) {
          const [cost = 1, consume = true] = knobs[i] ?? [];
          const request: CheckRequest = { identity, windows, now, cost, consume };
          const [fromRedis, fromMemory] = await Promise.all([
            redis.check(request),
            memory.check(request),
          ]);
          // fullAt is only known where the buckets are read (the Lua script does not return it).
          const withoutFullAt = {
            ...fromMemory,
            windows: fromMemory.windows.map(({ fullAt: _fullAt, ...w }) => w),
          };
          expect(fromRedis).toEqual(withoutFullAt);
          if (!fromRedis.allowed) rejections++;
        }
      }),
      { numRuns: 40 },
    );
    // The traces must exercise the rejecting branch, or the comparison proves little.
    expect(rejections).toBeGreaterThan(20);
  });

  it('uses the Redis server clock when no time is pinned', async () => {
    const { store } = countingStore();
    const before = Date.now();
    const result = await store.check({
      identity: `c:${uniqueId('clock')}`,
      windows: [{ id: 'minute', limit: 5, windowMs: 60_000 }],
    });
    // Same machine: the server clock is within a generous tolerance of ours.
    expect(Math.abs(result.now - before)).toBeLessThan(5_000);
    expect(result.windows[0]?.used).toBe(1);
  });
});

describe('createRedisStore', () => {
  // Keys expire on Redis's own clock: windows of a few seconds, so that a stalled machine does
  // not empty one between two checks of a test.
  const windows: WindowSpec[] = [
    { id: 'burst', limit: 3, windowMs: 5_000 },
    { id: 'minute', limit: 10, windowMs: 60_000 },
  ];

  it('sends one EVALSHA per check while the script is cached', async () => {
    const { store, commands } = countingStore();
    const identity = `c:${uniqueId('sha')}`;
    await store.check({ identity, windows }); // may load the script
    commands.length = 0;
    for (let i = 0; i < 3; i++) await store.check({ identity, windows });
    expect(commands).toEqual(['evalsha', 'evalsha', 'evalsha']);
  });

  it('falls back to EVAL after SCRIPT FLUSH, then runs by SHA again', async () => {
    const { store, commands } = countingStore();
    const identity = `c:${uniqueId('flush')}`;
    await testRedis().scriptFlush();
    const first = await store.check({ identity, windows });
    expect(first.allowed).toBe(true);
    expect(commands).toEqual(['evalsha', 'eval']);
    commands.length = 0;
    const second = await store.check({ identity, windows });
    expect(commands).toEqual(['evalsha']);
    expect(second.windows.map((w) => w.used)).toEqual([2, 2]);
  });

  it('sets a TTL of at most window + one bucket on every key it writes', async () => {
    const { store } = countingStore();
    const identity = `c:${uniqueId('ttl')}`;
    await store.check({ identity, windows });
    const redis = testRedis();
    for (const spec of windows) {
      const ttl = await redis.pttl(windowKey(identity, spec));
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(spec.windowMs + bucketWidth(spec.windowMs));
    }
  });

  it('keeps every key of one identity under one hash tag', async () => {
    const { store } = countingStore();
    const identity = `c:${uniqueId('slot')}`;
    await store.check({
      identity,
      windows: [...windows, { id: 'search:minute', limit: 2, windowMs: 60_000 }],
    });
    const keys = await testRedis().keys(`el:{${identity}}:*`);
    expect(keys).toHaveLength(3);
    for (const key of keys) expect(/\{([^}]*)\}/.exec(key)?.[1]).toBe(identity);
  });

  it('writes nothing for a rejected request (all or nothing in Lua)', async () => {
    const { store } = countingStore();
    const identity = `c:${uniqueId('aon')}`;
    const now = EPOCH;
    for (let i = 0; i < 3; i++) await store.check({ identity, windows, now: now + i });
    const rejected = await store.check({ identity, windows, now: now + 3 });
    expect(rejected.allowed).toBe(false);
    const minute = await testRedis().hgetall<Record<string, number>>(
      windowKey(identity, windows[1] as WindowSpec),
    );
    expect(Object.values(minute ?? {}).reduce((a, b) => a + Number(b), 0)).toBe(3);
  });

  it('turns an unreachable server into an unavailable StoreError', async () => {
    const { Redis } = await import('@upstash/redis/cloudflare');
    const store = createRedisStore({
      redis: new Redis({ url: 'http://127.0.0.1:9', token: 'x', retry: false }),
    });
    const error = await store.check({ identity: 'c:dead', windows }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).reason).toBe('unavailable');
  });
});

describe('parseReply', () => {
  const request: CheckRequest = {
    identity: 'c:x',
    windows: [
      { id: 'a', limit: 5, windowMs: 1_000 },
      { id: 'b', limit: 9, windowMs: 60_000 },
    ],
  };

  /** The StoreError `parseReply` throws for `reply`. */
  function failure(reply: unknown): StoreError {
    try {
      parseReply(reply, request);
    } catch (error) {
      if (error instanceof StoreError) return error;
      throw error;
    }
    throw new Error('parseReply accepted a malformed reply');
  }

  it('reads integers (and integer strings) into window states; -1 means never', () => {
    const result = parseReply([0, 1000, 5, 2009, 1999, '3', -1, 60599], request);
    expect(result).toEqual({
      allowed: false,
      now: 1000,
      windows: [
        { id: 'a', limit: 5, windowMs: 1_000, used: 5, remaining: 0, retryAt: 2009, resetAt: 1999 },
        {
          id: 'b',
          limit: 9,
          windowMs: 60_000,
          used: 3,
          remaining: 6,
          retryAt: Number.POSITIVE_INFINITY,
          resetAt: 60599,
        },
      ],
    });
  });

  it('rejects a reply that is not an array of the right length', () => {
    expect(failure('OK')).toMatchObject({ reason: 'malformed-reply', store: 'redis' });
    expect(failure('OK').message).toContain('expected an array of 8 integers, got "OK"');
    expect(failure([1, 2, 3]).message).toContain('expected an array of 8 integers, got [1,2,3]');
  });

  it('rejects a float or non-numeric element, naming its position', () => {
    expect(failure([1, 1000, 1, 2, 3, 4.5, 5, 6]).message).toContain(
      'element 5 is not an integer: 4.5',
    );
    expect(failure([1, 1000, 1, 2, 3, 4, 'x', 6]).message).toContain(
      'element 6 is not an integer: "x"',
    );
  });

  it('rejects an allowed flag other than 0 or 1', () => {
    expect(failure([2, 1000, 1, 2, 3, 4, 5, 6]).message).toContain(
      'allowed flag must be 0 or 1, got 2',
    );
  });
});
