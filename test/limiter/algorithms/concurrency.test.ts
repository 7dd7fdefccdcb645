/**
 * Concurrency slots through the algorithm seam, in every store that keeps them: all or nothing
 * with the windows, given back by token, and freed by their lease when a request never returns.
 */
import { describe, expect, it } from 'vitest';
import { concurrency } from '../../../src/limiter/algorithms/concurrency/algorithm';
import type { WindowSpec } from '../../../src/limiter/contract';
import { uniqueId } from '../../support/customers';
import { PINNED_T0 } from '../../support/pinned-time';
import { STORES } from '../../support/stores';

const NOW = PINNED_T0;
const LEASE = 30_000;

const slots = (limit: number): WindowSpec => ({
  id: 'concurrency',
  kind: 'concurrency',
  limit,
  windowMs: LEASE,
});
const minute = (limit: number): WindowSpec => ({ id: 'minute', limit, windowMs: 60_000 });

describe('the concurrency algorithm in memory', () => {
  it('leaves requests without a concurrency limit to the sliding window, untouched', () => {
    const call = concurrency.scriptCall({ identity: 'c:x', windows: [minute(5)], now: NOW });
    expect(call.script).toBeUndefined();
  });

  it('never writes slots behind to Redis: they are local changes', () => {
    const cells = new Map();
    const { changes } = concurrency.check([slots(2), minute(5)], cells, NOW, 1, true, 42);
    expect(changes.filter((c) => c.local).map((c) => c.window)).toEqual(['concurrency']);
    expect(changes.filter((c) => !c.local).map((c) => c.window)).toEqual(['minute']);
  });
});

for (const [mode, makeStore] of Object.entries(STORES)) {
  describe(`concurrency slots in the ${mode} store`, () => {
    const identity = () => `c:${uniqueId(`slots-${mode}`)}`;

    it('takes exactly N slots, refuses the next without consuming a window, and frees one on release', async () => {
      const store = makeStore();
      const who = identity();
      const windows = [slots(3), minute(10)];
      const outcomes = [];
      for (let token = 1; token <= 4; token++) {
        outcomes.push(await store.check({ identity: who, windows, now: NOW, slotToken: token }));
      }
      expect(outcomes.map((o) => o.allowed)).toEqual([true, true, true, false]);
      const refused = outcomes[3];
      expect(refused?.windows[0]).toMatchObject({ used: 3, remaining: 0 });
      // Honest and short: a slot frees when any request ends, so no more than a second.
      expect(refused?.windows[0]?.retryAt).toBe(NOW + 1_000);
      const peek = await store.check({ identity: who, windows, now: NOW, consume: false });
      expect(peek.windows.map((w) => w.used)).toEqual([3, 3]);

      await store.release?.({ identity: who, windows: [slots(3)], slotToken: 2, now: NOW });
      // Releasing again, or a token never taken, changes nothing.
      await store.release?.({ identity: who, windows: [slots(3)], slotToken: 2, now: NOW });
      await store.release?.({ identity: who, windows: [slots(3)], slotToken: 99, now: NOW });
      const next = await store.check({ identity: who, windows, now: NOW + 1, slotToken: 5 });
      expect(next.allowed).toBe(true);
      expect(next.windows.map((w) => w.used)).toEqual([3, 4]);
    });

    it('takes no slot for a request a window refuses', async () => {
      const store = makeStore();
      const who = identity();
      const windows = [slots(3), minute(1)];
      const first = await store.check({ identity: who, windows, now: NOW, slotToken: 1 });
      const second = await store.check({ identity: who, windows, now: NOW, slotToken: 2 });
      expect([first.allowed, second.allowed]).toEqual([true, false]);
      expect(second.windows[0]).toMatchObject({ used: 1, remaining: 2 });
      const peek = await store.check({ identity: who, windows, now: NOW, consume: false });
      expect(peek.windows[0]?.used).toBe(1);
    });

    it('frees the slots of requests that never came back when their lease ends, not before', async () => {
      const store = makeStore();
      const who = identity();
      const windows = [slots(2), minute(100)];
      // Two requests whose isolate vanished: they never release.
      await store.check({ identity: who, windows, now: NOW, slotToken: 1 });
      await store.check({ identity: who, windows, now: NOW, slotToken: 2 });
      const early = await store.check({
        identity: who,
        windows,
        now: NOW + LEASE - 1,
        slotToken: 3,
      });
      expect(early.allowed).toBe(false);
      // Within a second, or when the soonest lease ends if that is sooner.
      expect(early.windows[0]?.retryAt).toBe(NOW + LEASE);
      const after = await store.check({ identity: who, windows, now: NOW + LEASE, slotToken: 4 });
      expect(after.allowed).toBe(true);
      expect(after.windows[0]?.used).toBe(1);
    });

    it('counts the slots of an endpoint rule and the customer apart, all or nothing', async () => {
      const store = makeStore();
      const who = identity();
      const rule: WindowSpec = { ...slots(1), id: 'search:concurrency' };
      const both = [slots(3), rule, minute(10)];
      const a = await store.check({ identity: who, windows: both, now: NOW, slotToken: 1 });
      const b = await store.check({ identity: who, windows: both, now: NOW, slotToken: 2 });
      expect([a.allowed, b.allowed]).toEqual([true, false]);
      // The refusal by the rule's slot took no customer slot and no window unit.
      const peek = await store.check({ identity: who, windows: both, now: NOW, consume: false });
      expect(peek.windows.map((w) => w.used)).toEqual([1, 1, 1]);
    });
  });
}
