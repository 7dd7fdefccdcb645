/** In-memory counter store and leaser: the reference implementations, for tests and simulations. */
import type { Clock } from '../clock';
import { systemClock } from '../clock';
import { windowKey } from '../limiter/keys';
import { grantLease } from '../limiter/lease';
import { type Buckets, checkAll } from '../limiter/sliding-window';
import type { CheckRequest, CounterStore } from './counter-store';
import type { Leaser } from './lease-store';

/** Counters of one process, keyed like Redis; hands out the buckets of a request's windows. */
function memoryCounters() {
  const counters = new Map<string, Buckets>();
  return (request: CheckRequest): Map<string, Buckets> => {
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
    return byId;
  };
}

/**
 * Creates a store that keeps every counter in this isolate's memory.
 * @param clock - time source; defaults to `Date.now`.
 * @example
 * const store = createMemoryStore();
 * await store.check({ identity: 'c:acme', windows: [{ id: 'minute', limit: 100, windowMs: 60_000 }] });
 */
export function createMemoryStore(clock: Clock = systemClock): CounterStore {
  const windowsOf = memoryCounters();
  return {
    name: 'memory',
    async check(request: CheckRequest) {
      const now = request.now ?? clock.now();
      return checkAll(
        request.windows,
        windowsOf(request),
        now,
        request.cost ?? 1,
        request.consume ?? true,
      );
    },
  };
}

/**
 * A leaser that grants `fast` leases from counters in this process: the Durable Object's lease
 * logic without the object, so many simulated isolates can share it in one run.
 */
export function createMemoryLeaser(clock: Clock = systemClock): Leaser {
  const windowsOf = memoryCounters();
  return async (request, ask) =>
    grantLease(request.windows, windowsOf(request), request.now ?? clock.now(), ask).grant;
}
