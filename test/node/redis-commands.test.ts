/** Redis commands per request of the Redis store, counted by the local Upstash server itself. */
import { Redis } from '@upstash/redis';
import { describe, expect, it } from 'vitest';
import { createRedisStore } from '../../src/store/redis-store';
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
