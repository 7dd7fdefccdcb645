import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock';
import type { CheckRequest, CounterStore } from '../../src/limiter/contract';
import { withBlockedCache } from '../../src/store/blocked-cache';
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
});
