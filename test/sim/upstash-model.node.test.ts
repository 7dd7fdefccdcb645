/** The @upstash/ratelimit sliding window model: its arithmetic, on cases computed by hand. */
import { describe, expect, it } from 'vitest';
import {
  billedCommands,
  CounterKeys,
  EphemeralCache,
  resetAt,
  runSlidingWindowScript,
  type ScriptRun,
  weightedCount,
  windowKeys,
} from '../../scripts/sim/upstash-model';
import { PINNED_T0 } from '../support/pinned-time';

const W = 60_000;
/** A minute boundary, epoch ms. */
const T0 = PINNED_T0 - (PINNED_T0 % W);

/** Calls the script `n` times at `now` (arriving in Redis at the same instant). */
function callN(redis: CounterKeys, n: number, now: number, limit: number): ScriptRun[] {
  const runs: ScriptRun[] = [];
  for (let i = 0; i < n; i++) {
    runs.push(
      runSlidingWindowScript(redis, now, {
        keys: windowKeys('rl:id', now, W),
        tokens: limit,
        now,
        windowMs: W,
      }),
    );
  }
  return runs;
}

const allowed = (runs: readonly ScriptRun[]) => runs.filter((r) => r.success).length;

describe('weightedCount', () => {
  it('weighs the previous window by the share of the current one still to come, rounded down', () => {
    // 25% in: floor(0.75 * 40) + 10; 75% in: floor(0.25 * 40) + 10.
    expect(weightedCount(40, 10, T0 + 15_000, W)).toBe(40);
    expect(weightedCount(40, 10, T0 + 45_000, W)).toBe(20);
    // floor(0.75 * 7) = floor(5.25) = 5.
    expect(weightedCount(7, 0, T0 + 15_000, W)).toBe(5);
    expect(weightedCount(40, 10, T0, W)).toBe(50);
  });
});

describe('runSlidingWindowScript', () => {
  it('allows up to the limit in a fresh window, then rejects, billing 5, 4, then 3 commands', () => {
    const redis = new CounterKeys();
    const runs = callN(redis, 12, T0 + 1_000, 10);
    expect(runs.map((r) => r.success)).toEqual([...Array(10).fill(true), false, false]);
    expect(runs.map((r) => r.remaining)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0, -1, -1]);
    expect(runs[0]?.commands).toEqual(['GET', 'GET', 'INCRBY', 'PEXPIRE']);
    expect(runs[1]?.commands).toEqual(['GET', 'GET', 'INCRBY']);
    expect(runs[10]?.commands).toEqual(['GET', 'GET']);
    expect(runs.map(billedCommands)).toEqual([5, ...Array(9).fill(4), 3, 3]);
  });

  it('counts the weighted previous window: 8 last minute, 25% in, leaves room for 4 of 10', () => {
    const redis = new CounterKeys();
    callN(redis, 8, T0 + 50_000, 10);
    // floor(0.75 * 8) = 6 carried over: 4 more fit.
    const runs = callN(redis, 6, T0 + W + 15_000, 10);
    expect(runs.map((r) => r.success)).toEqual([true, true, true, true, false, false]);
    // 75% in: floor(0.25 * 8) = 2 carried over, 4 counted: 4 more fit.
    expect(allowed(callN(redis, 6, T0 + W + 45_000, 10))).toBe(4);
  });

  it('lets the boundary attack through the estimate: 101 in 200 ms, 150 within one minute', () => {
    // The library calls its estimate "a weighted score between two windows": it assumes the
    // previous window's requests were spread over it. The attacker sends them all at its end.
    const redis = new CounterKeys();
    expect(allowed(callN(redis, 100, T0 + W - 100, 100))).toBe(100);
    // 100 ms after the boundary: floor((1 - 100/60000) * 100) = 99, so 1 more.
    expect(allowed(callN(redis, 100, T0 + W + 100, 100))).toBe(1);
    // 30 s later the 100 are 30.1 s old, inside any 60 s sliding window, yet weighted by 0.5:
    // floor(50) + 1 leaves room for 49 more.
    expect(allowed(callN(redis, 100, T0 + W + 30_000, 100))).toBe(49);
    // The exact sliding log over (t - 60 s, t] at t = 30 s past the boundary: 100 + 1 + 49.
  });

  it("weighs with the caller's clock and counts in the caller's window, whatever Redis's clock says", () => {
    const redis = new CounterKeys();
    const sentAt = T0 + W - 5; // sent 5 ms before the boundary, arriving 20 ms later
    const run = runSlidingWindowScript(redis, sentAt + 20, {
      keys: windowKeys('rl:id', sentAt, W),
      tokens: 3,
      now: sentAt,
      windowMs: W,
    });
    expect(run.success).toBe(true);
    expect(redis.get(`rl:id:${Math.floor(sentAt / W)}`, sentAt + 20)).toBe(1);
    expect(redis.get(`rl:id:${Math.floor(sentAt / W) + 1}`, sentAt + 20)).toBeNull();
  });

  it('expires a window counter 2 W + 1 s after its first request (its PEXPIRE)', () => {
    const redis = new CounterKeys();
    callN(redis, 3, T0 + 10_000, 10);
    const key = `rl:id:${T0 / W}`;
    expect(redis.get(key, T0 + 10_000 + 2 * W + 999)).toBe(3);
    expect(redis.get(key, T0 + 10_000 + 2 * W + 1_000)).toBeNull();
  });
});

describe('EphemeralCache', () => {
  it("blocks an identifier until the end of the caller's fixed window, that instant included", () => {
    const cache = new EphemeralCache();
    const reset = resetAt(T0 + 20_000, W);
    expect(reset).toBe(T0 + W);
    cache.blockUntil('rl:id', reset);
    expect(cache.isBlocked('rl:id', T0 + 59_999)).toBe(true);
    expect(cache.isBlocked('rl:id', T0 + W)).toBe(true);
    expect(cache.isBlocked('rl:id', T0 + W + 1)).toBe(false);
    expect(cache.isBlocked('rl:other', T0 + 30_000)).toBe(false);
  });
});
