import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock';
import type { CheckOutcome } from '../../src/limiter/contract';
import { type CheckRequest, type CounterStore, StoreError } from '../../src/limiter/contract';
import { withCircuitBreaker } from '../../src/store/circuit-breaker';
import { createMemoryStore } from '../../src/store/memory-store';

/** A memory store that can be switched to failing, and counts the calls that reach it. */
function flakyStore() {
  const inner = createMemoryStore();
  let failing = false;
  let calls = 0;
  const store: CounterStore = {
    name: 'flaky',
    async check(request: CheckRequest): Promise<CheckOutcome> {
      calls++;
      if (failing) throw new StoreError('flaky', 'unavailable', 'down');
      return inner.check(request);
    },
  };
  return {
    store,
    fail: (on: boolean) => {
      failing = on;
    },
    calls: () => calls,
  };
}

const request: CheckRequest = {
  identity: 'c:breaker',
  windows: [{ id: 'minute', limit: 1000, windowMs: 60_000 }],
  now: 1_000,
};

describe('withCircuitBreaker', () => {
  it('opens after the threshold of consecutive failures and then stops calling the store', async () => {
    const clock = manualClock(0);
    const flaky = flakyStore();
    const changes: string[] = [];
    const breaker = withCircuitBreaker(flaky.store, {
      clock,
      failureThreshold: 3,
      openMs: 1_000,
      onChange: (state) => changes.push(state),
    });
    flaky.fail(true);
    for (let i = 0; i < 3; i++) await expect(breaker.check(request)).rejects.toThrow(StoreError);
    expect(breaker.state().state).toBe('open');
    await expect(breaker.check(request)).rejects.toThrow('circuit breaker open');
    expect(flaky.calls()).toBe(3);
    expect(changes).toEqual(['open']);
  });

  it('probes after the cool-down and closes when the probe succeeds', async () => {
    const clock = manualClock(0);
    const flaky = flakyStore();
    const changes: string[] = [];
    const breaker = withCircuitBreaker(flaky.store, {
      clock,
      failureThreshold: 2,
      openMs: 1_000,
      onChange: (state) => changes.push(state),
    });
    flaky.fail(true);
    await expect(breaker.check(request)).rejects.toThrow();
    await expect(breaker.check(request)).rejects.toThrow();
    flaky.fail(false);
    clock.advance(999);
    await expect(breaker.check(request)).rejects.toThrow('open');
    clock.advance(1);
    const outcome = await breaker.check(request);
    expect(outcome.allowed).toBe(true);
    expect(breaker.state().state).toBe('closed');
    expect(changes).toEqual(['open', 'half-open', 'closed']);
  });

  it('opens again at once when the probe fails', async () => {
    const clock = manualClock(0);
    const flaky = flakyStore();
    const breaker = withCircuitBreaker(flaky.store, { clock, failureThreshold: 1, openMs: 500 });
    flaky.fail(true);
    await expect(breaker.check(request)).rejects.toThrow();
    clock.advance(500);
    await expect(breaker.check(request)).rejects.toThrow('down');
    expect(breaker.state()).toEqual({ state: 'open', since: 500, openDomains: 1 });
  });

  it('resets the failure count after a success', async () => {
    const clock = manualClock(0);
    const flaky = flakyStore();
    const breaker = withCircuitBreaker(flaky.store, { clock, failureThreshold: 2, openMs: 500 });
    flaky.fail(true);
    await expect(breaker.check(request)).rejects.toThrow();
    flaky.fail(false);
    await breaker.check(request);
    flaky.fail(true);
    await expect(breaker.check(request)).rejects.toThrow();
    expect(breaker.state().state).toBe('closed');
  });

  it("keeps failure domains apart: one sick identity never lifts another identity's limits", async () => {
    const clock = manualClock(0);
    const inner = createMemoryStore(clock);
    const sick: CounterStore = {
      name: 'per-identity',
      async check(r) {
        if (r.identity === 'c:sick') throw new StoreError('per-identity', 'timeout', 'slow object');
        return inner.check(r);
      },
    };
    const breaker = withCircuitBreaker(sick, {
      clock,
      failureThreshold: 3,
      openMs: 5_000,
      domainOf: (r) => r.identity,
    });
    const windows = [{ id: 'search', limit: 6, windowMs: 60_000 }];
    for (let i = 0; i < 10; i++) {
      await expect(breaker.check({ identity: 'c:sick', windows })).rejects.toThrow(StoreError);
    }
    expect(breaker.state()).toMatchObject({ state: 'open', openDomains: 1 });
    // The healthy identity with 6 left gets 6 real allowances and then real rejections.
    const outcomes = [];
    for (let i = 0; i < 25; i++)
      outcomes.push(await breaker.check({ identity: 'c:warm', windows }));
    expect(outcomes.filter((o) => o.allowed)).toHaveLength(6);
  });

  it('tracks at most maxDomains failing domains, however many identities fail', async () => {
    const clock = manualClock(0);
    const failing: CounterStore = {
      name: 'down',
      check: async () => {
        throw new StoreError('down', 'unavailable', 'down');
      },
    };
    const breaker = withCircuitBreaker(failing, {
      clock,
      failureThreshold: 1,
      domainOf: (r) => r.identity,
      maxDomains: 1_000,
    });
    for (let i = 0; i < 200_000; i++) {
      await breaker.check({ ...request, identity: `c:${i}` }).catch(() => {});
    }
    expect(breaker.state().openDomains).toBe(1_000);
  });
});
