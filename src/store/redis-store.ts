/** Counter store on Upstash Redis: one EVALSHA of the sliding-window script per check. */
import type { Redis } from '@upstash/redis/cloudflare';
import { windowKey } from '../limiter/keys';
import {
  bucketWidth,
  type CheckOutcome,
  type WindowState,
  windowState,
} from '../limiter/sliding-window';
import { type CheckRequest, type CounterStore, StoreError } from './counter-store';
import { runScript } from './run-script';
import { SLIDING_WINDOW_SCRIPT, SLIDING_WINDOW_SHA1 } from './sliding-window-script';

/** Options of {@link createRedisStore}. */
export interface RedisStoreOptions {
  readonly redis: Redis;
  /** Called once per Redis command sent, so callers can count commands per request. */
  readonly onCommand?: (command: 'evalsha' | 'eval') => void;
}

/**
 * Creates a store that checks every window of a request with one Lua script on Redis.
 * The script runs by SHA first and is sent in full only when Redis answers NOSCRIPT (after a
 * restart or `SCRIPT FLUSH`), so a warm path is one command and one round trip.
 * @example
 * const store = createRedisStore({ redis: new Redis({ url, token }) });
 */
export function createRedisStore(options: RedisStoreOptions): CounterStore {
  const { redis, onCommand } = options;
  return {
    name: 'redis',
    async check(request: CheckRequest): Promise<CheckOutcome> {
      const keys = request.windows.map((w) => windowKey(request.identity, w));
      const args = [
        String(request.now ?? 0),
        String(request.cost ?? 1),
        request.consume === false ? '0' : '1',
        ...request.windows.flatMap((w) => [
          String(w.limit),
          String(w.windowMs),
          String(bucketWidth(w.windowMs, w.limit)),
        ]),
      ];
      let reply: unknown;
      try {
        reply = await runScript(redis, SLIDING_WINDOW, keys, args, onCommand);
      } catch (error) {
        throw toStoreError(error);
      }
      return parseReply(reply, request);
    },
  };
}

const SLIDING_WINDOW = { script: SLIDING_WINDOW_SCRIPT, sha1: SLIDING_WINDOW_SHA1 };

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

/**
 * Validates the script's reply: `[allowed, now, (used, retryAt, resetAt) x windows]`, all
 * integers. Anything else is a malformed reply, never a decision.
 */
export function parseReply(reply: unknown, request: CheckRequest): CheckOutcome {
  const n = request.windows.length;
  if (!Array.isArray(reply) || reply.length !== 2 + 3 * n) {
    throw new StoreError(
      'redis',
      'malformed-reply',
      `expected an array of ${2 + 3 * n} integers, got ${describe(reply)}`,
    );
  }
  const ints = reply.map((value, i) => {
    const num = typeof value === 'string' ? Number(value) : value;
    if (typeof num !== 'number' || !Number.isSafeInteger(num)) {
      throw new StoreError(
        'redis',
        'malformed-reply',
        `element ${i} is not an integer: ${describe(value)}`,
      );
    }
    return num;
  });
  const [allowedFlag = 0, now = 0] = ints;
  if (allowedFlag !== 0 && allowedFlag !== 1) {
    throw new StoreError(
      'redis',
      'malformed-reply',
      `allowed flag must be 0 or 1, got ${allowedFlag}`,
    );
  }
  const windows: WindowState[] = request.windows.map((spec, i) => {
    const retry = ints[3 + 3 * i] ?? now;
    return windowState(
      spec,
      ints[2 + 3 * i] ?? 0,
      retry === -1 ? Number.POSITIVE_INFINITY : retry,
      ints[4 + 3 * i] ?? now,
    );
  });
  return { allowed: allowedFlag === 1, now, windows };
}

function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
