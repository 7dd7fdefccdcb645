/** The Durable Object check path: one object per identity, exact under concurrency, durable. */
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { windowKey } from '../../src/limiter/algorithms/sliding-window/keys';
import type { WindowSpec } from '../../src/limiter/contract';
import { createDurableObjectStore } from '../../src/store/durable-object-store';
import { stateFromEntries } from '../../src/store/storage-layout';
import { uniqueId } from '../support/customers';

const windows: WindowSpec[] = [
  { id: 'minute', limit: 100, windowMs: 60_000 },
  { id: 'second', limit: 3, windowMs: 1_000 },
];

describe('LimiterObject.check', () => {
  it('decides like the pure window and saves the counts it acknowledged from its alarm', async () => {
    const identity = `c:${uniqueId('do')}`;
    // Real time: the alarm saves what still counts by the object's clock.
    const EPOCH = Date.now();
    const stub = env.LIMITER.get(env.LIMITER.idFromName(identity));
    const results = [];
    for (let i = 0; i < 4; i++)
      results.push(await stub.check({ identity, windows, now: EPOCH + i }));
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, false]);
    expect(results[3]?.windows.map((w) => w.used)).toEqual([3, 3]);
    // Exact (1 ms buckets): the first request, at EPOCH, leaves the 1 s window at EPOCH + 1000.
    expect(results[3]?.windows[1]?.retryAt).toBe(EPOCH + 1_000);

    // Saved by the alarm, as one snapshot row holding every window.
    await runDurableObjectAlarm(stub);
    const stored = await runInDurableObject(stub, async (_instance, state) =>
      stateFromEntries(await state.storage.list()),
    );
    const key = windowKey(identity, windows[0] as WindowSpec);
    expect(stored.rows).toBe(1);
    expect([...(stored.windows.get(key) ?? [])]).toEqual([
      [EPOCH, 1],
      [EPOCH + 1, 1],
      [EPOCH + 2, 1],
    ]);
  });

  it('allows exactly the limit of 150 concurrent checks on one identity', async () => {
    const identity = `c:${uniqueId('do-race')}`;
    const store = createDurableObjectStore(env.LIMITER);
    const minute = [{ id: 'minute', limit: 100, windowMs: 60_000 }];
    const outcomes = await Promise.all(
      Array.from({ length: 150 }, () => store.check({ identity, windows: minute })),
    );
    expect(outcomes.filter((o) => o.allowed)).toHaveLength(100);
    expect(Math.max(...outcomes.map((o) => o.windows[0]?.used ?? 0))).toBe(100);
  });
});
