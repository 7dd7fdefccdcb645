import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock';
import type { CheckRequest, CounterStore } from '../../src/limiter/contract';
import { FAST_HOLD_MS, withBlockedCache } from '../../src/store/blocked-cache';
import { createMemoryStore } from '../../src/store/memory-store';

function countingStore(clock: ReturnType<typeof manualClock>) {
  const inner = createMemoryStore(clock);
  let calls = 0;
  const store: CounterStore = {
    name: 'memory',
    check: (request) => {
      calls++;
      return inner.check(request);
    },
  };
  return { store, calls: () => calls };
}

const windows = [{ id: 'second', limit: 2, windowMs: 1_000 }];

describe('withBlockedCache', () => {
  it('answers a known-blocked window locally with the same retry time', async () => {
    const clock = manualClock(10_000);
    const counting = countingStore(clock);
    const cache = withBlockedCache(counting.store, clock);
    const req: CheckRequest = { identity: 'c:l1', windows };
    await cache.check(req);
    await cache.check(req);
    const rejected = await cache.check(req);
    expect(rejected.allowed).toBe(false);
    expect(counting.calls()).toBe(3);

    clock.advance(100);
    const local = await cache.check(req);
    expect(local.allowed).toBe(false);
    expect(local.windows[0]?.retryAt).toBe(rejected.windows[0]?.retryAt);
    expect(local.windows[0]?.remaining).toBe(0);
    expect(counting.calls()).toBe(3);
    expect(cache.hits()).toBe(1);
  });

  it('goes back to the store once the retry time has passed', async () => {
    const clock = manualClock(10_000);
    const counting = countingStore(clock);
    const cache = withBlockedCache(counting.store, clock);
    const req: CheckRequest = { identity: 'c:l1b', windows };
    await cache.check(req);
    await cache.check(req);
    const rejected = await cache.check(req);
    clock.set(rejected.windows[0]?.retryAt ?? 0);
    const after = await cache.check(req);
    expect(after.allowed).toBe(true);
    expect(counting.calls()).toBe(4);
  });

  it('treats a changed limit as a different window', async () => {
    const clock = manualClock(10_000);
    const counting = countingStore(clock);
    const cache = withBlockedCache(counting.store, clock);
    const req: CheckRequest = { identity: 'c:l1c', windows };
    for (let i = 0; i < 3; i++) await cache.check(req);
    const raised = await cache.check({
      identity: 'c:l1c',
      windows: [{ ...windows[0], id: 'second', limit: 5, windowMs: 1_000 }],
    });
    expect(raised.allowed).toBe(true);
  });

  it('never answers peeks locally', async () => {
    const clock = manualClock(10_000);
    const counting = countingStore(clock);
    const cache = withBlockedCache(counting.store, clock);
    const req: CheckRequest = { identity: 'c:l1d', windows };
    for (let i = 0; i < 3; i++) await cache.check(req);
    await cache.check({ ...req, consume: false });
    expect(counting.calls()).toBe(4);
  });

  it(`holds a fast request's refusal at most ${FAST_HOLD_MS} ms, an exact one until its retry time`, async () => {
    const clock = manualClock(10_000);
    const counting = countingStore(clock);
    const cache = withBlockedCache(counting.store, clock);
    const minute = [{ id: 'minute', limit: 2, windowMs: 60_000 }];
    const fast: CheckRequest = { identity: 'c:l1e', windows: minute, fast: true };
    const exact: CheckRequest = { identity: 'c:l1f', windows: minute };
    for (const req of [fast, exact]) for (let i = 0; i < 3; i++) await cache.check(req);
    expect(counting.calls()).toBe(6);
    clock.advance(FAST_HOLD_MS - 1);
    expect((await cache.check(fast)).allowed).toBe(false);
    expect((await cache.check(exact)).allowed).toBe(false);
    expect(counting.calls()).toBe(6);
    // Past the hold a fast request asks again (under leases, units other isolates give back
    // free room before the retry time); the exact one is still answered here, nearly a minute
    // before its retry time.
    clock.advance(1);
    const again = await cache.check(fast);
    expect(again.allowed).toBe(false);
    expect(counting.calls()).toBe(7);
    const held = await cache.check(exact);
    expect(held.allowed).toBe(false);
    expect(held.windows[0]?.retryAt).toBeGreaterThan(clock.now() + 50_000);
    expect(counting.calls()).toBe(7);
    // The refusal it brought is held again from now.
    await cache.check(fast);
    expect(counting.calls()).toBe(7);
  });
});
