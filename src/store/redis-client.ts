/** Builds the Upstash Redis client the way every store wants it. */
import { Redis } from '@upstash/redis/cloudflare';

/**
 * A client without retries or auto-pipelining: a retry would blow the caller's time budget (the
 * limiter fails over instead), and batching is done explicitly where it pays (write-behind).
 */
export function createRedisClient(url: string, token: string): Redis {
  return new Redis({
    url,
    token,
    retry: false,
    enableAutoPipelining: false,
    enableTelemetry: false,
  });
}
