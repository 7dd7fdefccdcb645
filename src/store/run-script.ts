/** Runs a pinned Lua script by SHA, sending its text only when Redis answers NOSCRIPT. */
import type { Redis } from '@upstash/redis/cloudflare';
import type { PinnedScript } from '../limiter/algorithm';

/**
 * EVALSHA, and on NOSCRIPT (after a Redis restart or `SCRIPT FLUSH`) EVAL of the full text, which
 * also caches it again. `onCommand` counts commands sent, for the benchmark and metrics.
 */
export async function runScript(
  redis: Redis,
  pinned: PinnedScript,
  keys: string[],
  args: string[],
  onCommand?: (command: 'evalsha' | 'eval') => void,
): Promise<unknown> {
  try {
    onCommand?.('evalsha');
    return await redis.evalsha(pinned.sha1, keys, args);
  } catch (error) {
    if (!(error instanceof Error && error.message.includes('NOSCRIPT'))) throw error;
    onCommand?.('eval');
    return await redis.eval(pinned.script, keys, args);
  }
}
