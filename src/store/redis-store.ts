/** Counter store on Upstash Redis: one EVALSHA of the algorithm's script per check. */
import type { Redis } from '@upstash/redis/cloudflare';
import type { Algorithm } from '../limiter/algorithm';
import { DEFAULT_ALGORITHM } from '../limiter/algorithms/registry';
import {
  type CheckOutcome,
  type CheckRequest,
  type CounterStore,
  type ReleaseRequest,
  StoreError,
} from '../limiter/contract';
import { runScript } from './run-script';

/** Options of {@link createRedisStore}. */
export interface RedisStoreOptions {
  readonly redis: Redis;
  /** Called once per Redis command sent, so callers can count commands per request. */
  readonly onCommand?: (command: 'evalsha' | 'eval') => void;
  /** How windows are counted; the registry's default. */
  readonly algorithm?: Algorithm;
}

/**
 * Creates a store that checks every window of a request with the algorithm's Lua script on Redis.
 * The script runs by SHA first and is sent in full only when Redis answers NOSCRIPT (after a
 * restart or `SCRIPT FLUSH`), so a warm path is one command and one round trip.
 * @example
 * const store = createRedisStore({ redis: new Redis({ url, token }) });
 */
export function createRedisStore(options: RedisStoreOptions): CounterStore {
  const { redis, onCommand, algorithm = DEFAULT_ALGORITHM } = options;
  return {
    name: 'redis',
    async check(request: CheckRequest): Promise<CheckOutcome> {
      const { keys, args, script } = algorithm.scriptCall(request);
      let reply: unknown;
      try {
        reply = await runScript(redis, script ?? algorithm.script, keys, args, onCommand);
      } catch (error) {
        throw toStoreError(error);
      }
      return algorithm.parseReply(reply, request);
    },
    async release(request: ReleaseRequest): Promise<void> {
      const slots = algorithm.slots;
      if (!slots) return;
      const { keys, args } = slots.call(request);
      if (!keys.length) return;
      try {
        await runScript(redis, slots.script, keys, args, onCommand);
      } catch (error) {
        throw toStoreError(error);
      }
    },
  };
}

/** Classifies a Redis client error as a store failure. */
export function toStoreError(error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return new StoreError('redis', 'timeout', message);
  }
  const scripted = /ERR|script|lua/i.test(message) && !/fetch|network|connect/i.test(message);
  return new StoreError('redis', scripted ? 'script-error' : 'unavailable', message);
}
