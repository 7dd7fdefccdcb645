/**
 * The in-isolate memory of client addresses whose failed-attempts window is full: while it is,
 * every key (or admin token) they present is refused before it is hashed or looked up, so a
 * guess can never be confirmed by a 200 where a wrong one gets a 429.
 */
import { BoundedMap } from '../limiter/bounded-map';

/** Most addresses remembered per isolate; the oldest are forgotten first. */
export const MAX_BLOCKED_ADDRESSES = 10_000;

/** What the guard needs to know of a failed-attempts decision. */
export interface AttemptWindow {
  readonly remaining: number;
  readonly retryAt: number;
  /** When the window next gives quota back. */
  readonly resetAt: number;
}

/** Remembers full failed-attempts windows per client address. */
export interface FailedAttemptsGuard {
  /** True while `ip`'s failed-attempts window is known to be full at `now`. */
  blocked(ip: string, now: number): boolean;
  /** Notes the windows after a failed attempt: full ones block `ip` until they give quota back. */
  record(ip: string, windows: readonly AttemptWindow[], now: number): void;
  /** Addresses remembered (for memory-bound tests). */
  size(): number;
}

/**
 * Creates a guard holding at most `max` addresses.
 * @example const guard = createFailedAttemptsGuard(); guard.blocked('10.0.0.1', Date.now());
 */
export function createFailedAttemptsGuard(max = MAX_BLOCKED_ADDRESSES): FailedAttemptsGuard {
  const until = new BoundedMap<string, number>(max);
  return {
    blocked(ip, now) {
      const end = until.get(ip);
      if (end === undefined) return false;
      if (end > now) return true;
      until.delete(ip);
      return false;
    },
    record(ip, windows, now) {
      let end = 0;
      for (const w of windows) {
        // A full window (even one this attempt just filled) blocks until it gives quota back.
        if (w.remaining <= 0) end = Math.max(end, w.retryAt > now ? w.retryAt : w.resetAt);
      }
      if (end > now) until.set(ip, end);
    },
    size: () => until.size,
  };
}
