/** Redis for tests: a client of the local Upstash server that global setup started. */
import { Redis } from '@upstash/redis/cloudflare';
import { inject } from 'vitest';

/** A client configured like the worker's: no retries, no auto-pipelining. */
export function testRedis(): Redis {
  return new Redis({
    url: inject('upstashUrl'),
    token: inject('upstashToken'),
    retry: false,
    enableAutoPipelining: false,
    enableTelemetry: false,
  });
}

/** Settings that switch a {@link testWorker} to the Redis store. */
export function redisSettings(): {
  LIMITER_STORE: string;
  UPSTASH_REDIS_REST_URL: string;
  UPSTASH_REDIS_REST_TOKEN: string;
} {
  return {
    LIMITER_STORE: 'redis',
    UPSTASH_REDIS_REST_URL: inject('upstashUrl'),
    UPSTASH_REDIS_REST_TOKEN: inject('upstashToken'),
  };
}
