/** Redis commands per request of the Redis store, counted by the local Upstash server itself. */
import { Redis } from '@upstash/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedisServer } from '../../scripts/lib/redis-server';
import { startUpstashLocal, type UpstashLocal } from '../../scripts/upstash-local';
import { createRedisStore } from '../../src/store/redis-store';

const TOKEN = 'commands-test-token';
let redisServer: RedisServer;
let upstash: UpstashLocal;

beforeAll(async () => {
  redisServer = await startRedisServer();
  upstash = await startUpstashLocal({ redisPort: redisServer.port, token: TOKEN });
});

afterAll(async () => {
  await upstash?.stop();
  await redisServer?.stop();
});

describe('the Redis store, as the Upstash server counts it', () => {
  const windows = [
    { id: 'minute', limit: 100, windowMs: 60_000 },
    { id: 'day', limit: 1_000, windowMs: 86_400_000 },
    { id: 'search:minute', limit: 10, windowMs: 60_000 },
  ];

  it('costs one command and one HTTP request per check, two right after SCRIPT FLUSH', async () => {
    const redis = new Redis({ url: upstash.url, token: TOKEN, retry: false });
    const store = createRedisStore({ redis });
    await redis.scriptFlush();

    upstash.resetStats();
    await store.check({ identity: 'c:commands', windows });
    expect(upstash.stats()).toEqual({ commands: 2, requests: 2 }); // EVALSHA -> NOSCRIPT, EVAL

    upstash.resetStats();
    for (let i = 0; i < 20; i++) await store.check({ identity: 'c:commands', windows });
    expect(upstash.stats()).toEqual({ commands: 20, requests: 20 });
  });
});
