import { env } from 'cloudflare:workers';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock';
import type { CheckRequest, WindowSpec } from '../../src/limiter/contract';
import type { LimiterObject } from '../../src/objects/limiter-object';
import { createDurableObjectStore } from '../../src/store/durable-object-store';
import { durableObjectLeaser, type Leaser, withLeases } from '../../src/store/lease-store';
import { testWorker } from '../support/app';
import { createCustomer, uniqueId } from '../support/customers';

const namespace = env.LIMITER as DurableObjectNamespace<LimiterObject>;

/** Largest number of allowed times inside any window `(t - W, t]`. */
function maxInAnyWindow(times: readonly number[], windowMs: number): number {
  let best = 0;
  let start = 0;
  for (let end = 0; end < times.length; end++) {
    while ((times[start] ?? 0) <= (times[end] ?? 0) - windowMs) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

describe('withLeases (consistency "fast")', () => {
  it('never allows more than the limit in any sliding window, across many isolates', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 120 })), {
          minLength: 40,
          maxLength: 160,
        }),
        fc.integer({ min: 3, max: 25 }),
        async (steps, limit) => {
          const clock = manualClock(1_800_000_000_000);
          const object = createDurableObjectStore(namespace);
          let calls = 0;
          const base = durableObjectLeaser(namespace);
          const counting: Leaser = (r, a) => {
            calls++;
            return base(r, a);
          };
          // Eight isolates, each with its own leases, all in front of the same object.
          const isolates = Array.from({ length: 8 }, () =>
            withLeases(object, counting, { clock, ttlMs: 500 }),
          );
          const windows: WindowSpec[] = [{ id: 'w', limit, windowMs: 2_000 }];
          const identity = `c:${uniqueId('fast')}`;
          const allowed: number[] = [];
          for (const [isolate, gap] of steps) {
            clock.advance(gap);
            const request: CheckRequest = { identity, windows, now: clock.now(), fast: true };
            const outcome = await isolates[isolate]?.check(request);
            if (outcome?.allowed) allowed.push(clock.now());
          }
          expect(maxInAnyWindow(allowed, 2_000)).toBeLessThanOrEqual(limit);
          expect(calls).toBeLessThanOrEqual(steps.length);
        },
      ),
      { numRuns: 15 },
    );
  });

  it('calls the object far less often than it decides', async () => {
    const clock = manualClock(1_800_000_000_000);
    let calls = 0;
    const base = durableObjectLeaser(namespace);
    const store = withLeases(
      createDurableObjectStore(namespace),
      (r, a) => {
        calls++;
        return base(r, a);
      },
      { clock, ttlMs: 1_000 },
    );
    const windows: WindowSpec[] = [{ id: 'minute', limit: 100_000, windowMs: 60_000 }];
    const identity = `c:${uniqueId('fastcalls')}`;
    for (let i = 0; i < 500; i++) {
      clock.advance(1);
      const outcome = await store.check({ identity, windows, now: clock.now(), fast: true });
      expect(outcome.allowed).toBe(true);
    }
    expect(calls).toBeLessThan(500 / 10);
  });

  it('enforces the limit exactly for one isolate over HTTP', async () => {
    const worker = testWorker();
    const customer = await createCustomer(env.CONFIG, {
      tier: 'enterprise',
      limits: [{ limit: 20, window: '1m' }],
      consistency: 'fast',
    });
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) {
      statuses.push((await worker.fetch('/v1/fast', { headers: customer.headers })).status);
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(20);
    expect(statuses.slice(20)).toEqual([429, 429, 429, 429, 429]);
  });
});

describe('fast mode under a burst', () => {
  it('serves exactly the limit to 300 concurrent requests on a fresh customer and orphans no unit', async () => {
    const target = testWorker();
    const customer = await createCustomer(env.CONFIG, { tier: 'free', consistency: 'fast' });
    const responses = await Promise.all(
      Array.from({ length: 300 }, () => target.fetch('/v1/items', { headers: customer.headers })),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(100);
    expect(statuses.filter((s) => s === 429)).toHaveLength(200);
    const view = await target.fetch('/_edgelimit/rate_limit', { headers: customer.headers });
    const { windows } = (await view.json()) as { windows: { id: string; remaining: number }[] };
    // The day lost exactly what was served: 100 of 1,000, nothing held by a lost lease.
    expect(windows.find((w) => w.id === 'day')?.remaining).toBe(900);
    expect(windows.find((w) => w.id === 'minute')?.remaining).toBe(0);
  });
});
