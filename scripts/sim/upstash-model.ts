/**
 * A model of @upstash/ratelimit's single-region sliding window, for the simulation's comparison
 * row: the Redis state its Lua script reads and writes, the script's arithmetic, what it runs
 * (as Upstash bills it), and the library's ephemeral cache of blocked identifiers.
 *
 * Modelled on @upstash/ratelimit 2.2.0, the version `npm run bench` runs (package.json), as
 * shipped in `node_modules/@upstash/ratelimit/dist/index.js`; the same logic is in
 * upstash/ratelimit-js `src/lua-scripts/single.ts` (`slidingWindowLimitScript`),
 * `src/single.ts` (`RegionRatelimit.slidingWindow`), `src/ratelimit.ts` (`timeout`,
 * `ephemeralCache`) and `src/cache.ts` (commit 5b5448a). Written from reading them, not copied:
 * - keys: `<prefix>:<identifier>:<floor(now / W)>` for the current and the previous fixed
 *   window, `now` being the caller's `Date.now()`;
 * - the script: GET both counters, weigh the previous one by the share of the current window
 *   still to come, `floor((1 - (now % W) / W) * previous)`; reject when that plus the current
 *   count reaches the limit; otherwise INCRBY the current counter and, when the INCRBY created
 *   it, PEXPIRE it for `2W + 1 s`; the answer is `limit - (new count + weighted previous)`;
 * - billed: the EVALSHA plus every command the script ran (3 for a rejection, 4 for an allowed
 *   request, 5 for the first one of a window), as `INFO commandstats` counts them;
 * - the ephemeral cache (on unless `ephemeralCache: false`): a rejected identifier is blocked in
 *   that `Ratelimit` instance, without a Redis call, until the end of the current fixed window;
 * - `timeout` (default 5,000 ms): when Redis has not answered by then, `limit()` resolves as
 *   allowed (`reason: "timeout"`); the call itself still runs.
 * Dynamic limits, analytics, deny lists and multi-region are off (the bench's configuration).
 */

/** The @upstash/ratelimit version this model follows. */
export const UPSTASH_RATELIMIT_VERSION = '2.2.0';

/** `timeout` of `new Ratelimit()` when none is given, ms (`config.timeout ?? 5e3`). */
export const UPSTASH_DEFAULT_TIMEOUT_MS = 5_000;

/** A Redis command the script runs. */
export type ScriptCommand = 'GET' | 'INCRBY' | 'PEXPIRE';

/** Redis string counters with TTLs: the only state the sliding window script touches. */
export class CounterKeys {
  private readonly keys = new Map<string, { value: number; expiresAt: number }>();

  /** `GET`: the counter, or `null` when it does not exist (or has expired) at `now`. */
  get(key: string, now: number): number | null {
    const entry = this.keys.get(key);
    if (!entry) return null;
    if (entry.expiresAt <= now) {
      this.keys.delete(key);
      return null;
    }
    return entry.value;
  }

  /** `INCRBY`: adds `by` (a missing key starts at 0, without a TTL) and returns the new value. */
  incrby(key: string, by: number, now: number): number {
    const value = (this.get(key, now) ?? 0) + by;
    this.keys.set(key, {
      value,
      expiresAt: this.keys.get(key)?.expiresAt ?? Number.POSITIVE_INFINITY,
    });
    return value;
  }

  /** `PEXPIRE`: the key expires `ms` after `now`. */
  pexpire(key: string, ms: number, now: number): void {
    const entry = this.keys.get(key);
    if (entry) entry.expiresAt = now + ms;
  }
}

/** The two keys of one call and the fixed window it falls in (from the caller's clock). */
export interface WindowKeys {
  readonly current: string;
  readonly previous: string;
  /** `floor(now / W)`. */
  readonly window: number;
}

/**
 * The keys `slidingWindow(...).limit` builds for `identifier` (already prefixed, as the library
 * passes `<prefix>:<identifier>`) at the caller's `now`.
 */
export function windowKeys(identifier: string, now: number, windowMs: number): WindowKeys {
  const window = Math.floor(now / windowMs);
  return { current: `${identifier}:${window}`, previous: `${identifier}:${window - 1}`, window };
}

/**
 * The script's estimate of what the sliding window holds at `now`: the current fixed window's
 * count plus the previous one's, weighted by the share of the current window still to come and
 * rounded down.
 *
 * @example weightedCount(40, 10, 15_000, 60_000) // 25% in: floor(0.75 * 40) + 10 = 40
 */
export function weightedCount(
  previous: number,
  current: number,
  now: number,
  windowMs: number,
): number {
  const elapsed = (now % windowMs) / windowMs;
  return Math.floor((1 - elapsed) * previous) + current;
}

/** Arguments of one script call (ARGV), as `slidingWindow(tokens, window).limit` sends them. */
export interface SlidingWindowCall {
  readonly keys: WindowKeys;
  readonly tokens: number;
  /** The caller's `Date.now()` when it called `limit()`. */
  readonly now: number;
  readonly windowMs: number;
  /** `rate`, default 1. */
  readonly incrementBy?: number;
}

/** What one run of the script returned and which commands it ran. */
export interface ScriptRun {
  /** `limit - (count after + weighted previous)`, or -1 when rejected. */
  readonly remaining: number;
  readonly success: boolean;
  readonly commands: readonly ScriptCommand[];
}

/**
 * Runs the sliding window script on `redis` as Redis would at `redisNow` (the instant the call
 * arrives: the state it reads, the TTL it sets), with the caller's arguments (`call.now` decides
 * the weight, as ARGV[2] does).
 */
export function runSlidingWindowScript(
  redis: CounterKeys,
  redisNow: number,
  call: SlidingWindowCall,
): ScriptRun {
  const incrementBy = call.incrementBy ?? 1;
  const commands: ScriptCommand[] = ['GET', 'GET'];
  const current = redis.get(call.keys.current, redisNow) ?? 0;
  const previous = redis.get(call.keys.previous, redisNow) ?? 0;
  const weightedPrevious = weightedCount(previous, 0, call.now, call.windowMs);
  if (incrementBy > 0 && weightedPrevious + current >= call.tokens) {
    return { remaining: -1, success: false, commands };
  }
  const after = redis.incrby(call.keys.current, incrementBy, redisNow);
  commands.push('INCRBY');
  if (after === incrementBy) {
    // The INCRBY created the key: the script sets its TTL once, two windows and a second.
    redis.pexpire(call.keys.current, call.windowMs * 2 + 1000, redisNow);
    commands.push('PEXPIRE');
  }
  const remaining = call.tokens - (after + weightedPrevious);
  return { remaining, success: remaining >= 0, commands };
}

/** Commands Upstash bills for one script call: the EVALSHA itself plus every command it ran. */
export function billedCommands(run: ScriptRun): number {
  return 1 + run.commands.length;
}

/** When a blocked identifier is let through again: the end of the caller's fixed window. */
export function resetAt(now: number, windowMs: number): number {
  return (Math.floor(now / windowMs) + 1) * windowMs;
}

/**
 * The ephemeral cache of one `Ratelimit` instance (it lives as long as the isolate that built
 * it): identifier -> reset. A blocked identifier is rejected locally until its reset.
 */
export class EphemeralCache {
  private readonly blocked = new Map<string, number>();

  /** Whether `identifier` is blocked at `now`; an expired entry is dropped, as the library does. */
  isBlocked(identifier: string, now: number): boolean {
    const reset = this.blocked.get(identifier);
    if (reset === undefined) return false;
    if (reset < now) {
      this.blocked.delete(identifier);
      return false;
    }
    return true;
  }

  blockUntil(identifier: string, reset: number): void {
    this.blocked.set(identifier, reset);
  }
}
