/** Every in-isolate map keyed by caller input stays bounded under 200,000 distinct inputs. */
import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock';
import {
  createFailedAttemptsGuard,
  MAX_BLOCKED_ADDRESSES,
} from '../../src/identity/failed-attempts';
import { BoundedMap } from '../../src/limiter/bounded-map';
import { createConfigStore, MAX_CONFIG_ENTRIES } from '../../src/policy/config-store';
import { withBlockedCache } from '../../src/store/blocked-cache';
import { MAX_LEASE_KEYS, withLeases } from '../../src/store/lease-store';
import { createMemoryLeaser, createMemoryStore } from '../../src/store/memory-store';
import { PINNED_T0 } from '../support/pinned-time';

const GUESSES = 200_000;

/**
 * KV as it answers every unknown key: `null`. Real KV gives the same answer but at about 1 ms a
 * read, too slow for 200,000 reads in a unit test; the route tests use real KV.
 */
const unknownKeysKv = { get: async () => null } as unknown as KVNamespace;

describe('BoundedMap', () => {
  it('holds at most max entries and forgets the least recently written first', () => {
    const map = new BoundedMap<string, number>(3);
    for (const [i, k] of ['a', 'b', 'c', 'd'].entries()) map.set(k, i);
    expect([...map.keys()]).toEqual(['b', 'c', 'd']);
    map.set('b', 9);
    map.set('e', 4);
    expect([...map.keys()]).toEqual(['d', 'b', 'e']);
    expect(() => new BoundedMap(0)).toThrow('max must be a positive integer');
  });
});

describe('memory under 200,000 distinct unknown keys', () => {
  it('keeps the config cache (fresh and last good) bounded, and still answers', async () => {
    const clock = manualClock(PINNED_T0);
    const config = createConfigStore({ kv: unknownKeysKv, clock });
    for (let i = 0; i < GUESSES; i++) {
      await config.apiKey(`guess-${i}`);
      if (i % 1000 === 0) clock.advance(50);
    }
    expect(config.cachedEntries()).toBeLessThanOrEqual(2 * MAX_CONFIG_ENTRIES);
    expect(await config.apiKey('guess-0')).toBeNull();
  });

  it('keeps the failed-attempts guard bounded', () => {
    const guard = createFailedAttemptsGuard();
    const now = PINNED_T0;
    for (let i = 0; i < GUESSES; i++) {
      guard.record(
        `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`,
        [{ remaining: 0, retryAt: now + 60_000, resetAt: now + 60_000 }],
        now,
      );
    }
    expect(guard.size()).toBe(MAX_BLOCKED_ADDRESSES);
    // The newest addresses are the ones still remembered.
    expect(guard.blocked(`10.3.13.63`, now)).toBe(true);
  });

  it('keeps the L1 of blocked windows bounded', async () => {
    const clock = manualClock(PINNED_T0);
    const l1 = withBlockedCache(createMemoryStore(clock), clock);
    const windows = [{ id: 'minute', limit: 1, windowMs: 60_000 }];
    for (let i = 0; i < GUESSES / 10; i++) {
      await l1.check({ identity: `ip:${i}`, windows });
      await l1.check({ identity: `ip:${i}`, windows });
    }
    expect(l1.size()).toBeLessThanOrEqual(10_000);
  });

  it('keeps the lease maps bounded', async () => {
    const clock = manualClock(PINNED_T0);
    const leases = withLeases(createMemoryStore(clock), createMemoryLeaser(clock), { clock });
    const windows = [{ id: 'minute', limit: 100, windowMs: 60_000 }];
    for (let i = 0; i < GUESSES; i++)
      await leases.check({ identity: `c:${i}`, windows, fast: true });
    expect(leases.trackedIdentities()).toBe(MAX_LEASE_KEYS);
  });
});
