/** Redis commands per request of the Redis store, counted by the local Upstash server itself. */
import { Redis } from '@upstash/redis';
import { describe, expect, it } from 'vitest';
import {
  billedCommands,
  commandstatsReader,
  parseCommandstats,
} from '../../scripts/lib/billed-commands';
import { snapshotKey } from '../../src/limiter/keys';
import { LimiterCore } from '../../src/store/limiter-core';
import { createRedisStore } from '../../src/store/redis-store';
import { decodeWindows } from '../../src/store/snapshot-codec';
import { useUpstashStack } from '../support/upstash-stack';

const TOKEN = 'commands-test-token';
const stack = useUpstashStack(TOKEN);

describe('the Redis store, as the Upstash server counts it', () => {
  const windows = [
    { id: 'minute', limit: 100, windowMs: 60_000 },
    { id: 'day', limit: 1_000, windowMs: 86_400_000 },
    { id: 'search:minute', limit: 10, windowMs: 60_000 },
  ];

  it('costs one command and one HTTP request per check, two right after SCRIPT FLUSH', async () => {
    const redis = new Redis({ url: stack.upstash.url, token: TOKEN, retry: false });
    const store = createRedisStore({ redis });
    await redis.scriptFlush();

    stack.upstash.resetStats();
    await store.check({ identity: 'c:commands', windows });
    expect(stack.upstash.stats()).toEqual({ commands: 2, requests: 2 }); // EVALSHA -> NOSCRIPT, EVAL

    stack.upstash.resetStats();
    for (let i = 0; i < 20; i++) await store.check({ identity: 'c:commands', windows });
    expect(stack.upstash.stats()).toEqual({ commands: 20, requests: 20 });
  });
});

describe('billed commands, as Upstash counts them (INFO commandstats)', () => {
  const windows = [
    { id: 'minute', limit: 100, windowMs: 60_000 },
    { id: 'day', limit: 1_000, windowMs: 86_400_000 },
  ];

  it('parses cmdstat lines and leaves out our own housekeeping', () => {
    const calls = parseCommandstats(
      '# Commandstats\r\ncmdstat_evalsha:calls=3,usec=9\r\ncmdstat_hincrby:calls=6,usec=1\r\n' +
        'cmdstat_info:calls=4,usec=2\r\ncmdstat_config|resetstat:calls=1,usec=2\r\nnot a line\r\n',
    );
    expect(calls).toEqual({ evalsha: 3, hincrby: 6, info: 4, 'config|resetstat': 1 });
    expect(billedCommands(calls)).toBe(9);
  });

  it('counts every command a check script runs, not one per HTTP call', async () => {
    const redis = new Redis({ url: stack.upstash.url, token: TOKEN, retry: false });
    const store = createRedisStore({ redis });
    await store.check({ identity: 'c:billed-warm', windows }); // the script is cached now
    const stats = await commandstatsReader(stack.redisServer.port);
    try {
      await stats.reset();
      stack.upstash.resetStats();
      await store.check({ identity: 'c:billed', windows });
      const calls = await stats.read();
      expect(stack.upstash.stats().commands).toBe(1);
      // EVALSHA, TIME (Redis server time), then per window HGETALL, HINCRBY and PEXPIRE.
      expect(calls).toMatchObject({ evalsha: 1, time: 1, hgetall: 2, hincrby: 2, pexpire: 2 });
      expect(billedCommands(calls)).toBe(8);
    } finally {
      await stats.close();
    }
  });

  it('bills a hybrid object one GET (cold) and one SET per batch, whatever the windows and checks', async () => {
    const redis = new Redis({ url: stack.upstash.url, token: TOKEN, retry: false });
    const now = Date.now();
    const core = new LimiterCore({
      now: () => now,
      storage: { put: () => {}, delete: () => {}, setAlarm: () => {} },
      redis: () => ({
        get: (key) => redis.get(key),
        set: (key, value, ttlMs) => redis.set(key, value, { px: Math.ceil(ttlMs) }),
      }),
    });
    const options = { writeBehind: { url: stack.upstash.url, token: TOKEN } };
    const stats = await commandstatsReader(stack.redisServer.port);
    try {
      await stats.reset();
      for (let i = 0; i < 50; i++) {
        await core.check({ identity: 'c:snapshot', windows, now: now - i * 7 }, options);
      }
      await core.alarm();
      const calls = await stats.read();
      expect(calls).toMatchObject({ get: 1, set: 1 });
      expect(billedCommands(calls)).toBe(2);
      const snapshot = decodeWindows(await redis.get(snapshotKey('c:snapshot')));
      expect(snapshot.size).toBe(windows.length);
    } finally {
      await stats.close();
    }
  });
});
