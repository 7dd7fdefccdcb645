/** Every counter store, built bare (no L1, breaker or budget), for tests that run in each. */
import { env } from 'cloudflare:workers';
import { inject } from 'vitest';
import type { CounterStore } from '../../src/limiter/contract';
import { createDurableObjectStore } from '../../src/store/durable-object-store';
import { createMemoryStore } from '../../src/store/memory-store';
import { createRedisStore } from '../../src/store/redis-store';
import { testRedis } from './redis';

/** A fresh store of each mode, by mode name. */
export const STORES: Record<string, () => CounterStore> = {
  memory: () => createMemoryStore(),
  'durable-object': () => createDurableObjectStore(env.LIMITER),
  hybrid: () =>
    createDurableObjectStore(env.LIMITER, {
      writeBehind: { url: inject('upstashUrl'), token: inject('upstashToken') },
    }),
  redis: () => createRedisStore({ redis: testRedis() }),
};
