/** In-memory counter store: the reference implementation, used by tests and simulations. */

import type { Clock } from '../clock';
import { systemClock } from '../clock';
import { windowKey } from '../limiter/keys';
import { type Buckets, checkAll } from '../limiter/sliding-window';
import type { CheckRequest, CounterStore } from './counter-store';

/**
 * Creates a store that keeps every counter in this isolate's memory.
 * @param clock - time source; defaults to `Date.now`.
 * @example
 * const store = createMemoryStore();
 * await store.check({ identity: 'c:acme', windows: [{ id: 'minute', limit: 100, windowMs: 60_000 }] });
 */
export function createMemoryStore(clock: Clock = systemClock): CounterStore {
  const counters = new Map<string, Buckets>();
  return {
    name: 'memory',
    async check(request: CheckRequest) {
      const now = request.now ?? clock.now();
      const byId = new Map<string, Buckets>();
      for (const spec of request.windows) {
        const key = windowKey(request.identity, spec);
        let buckets = counters.get(key);
        if (!buckets) {
          buckets = new Map();
          counters.set(key, buckets);
        }
        byId.set(spec.id, buckets);
      }
      return checkAll(request.windows, byId, now, request.cost ?? 1, request.consume ?? true);
    },
  };
}
