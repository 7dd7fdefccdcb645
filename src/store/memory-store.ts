/** In-memory counter store and leaser: the reference implementations, for tests and simulations. */
import type { Clock } from '../clock';
import { systemClock } from '../clock';
import type { Algorithm, Cells } from '../limiter/algorithm';
import { DEFAULT_ALGORITHM } from '../limiter/algorithms/registry';
import type { CheckRequest, CounterStore } from '../limiter/contract';
import type { Leaser } from './lease-store';

/** Counters of one process, keyed like Redis; hands out the cells of a request's windows. */
function memoryCounters(algorithm: Algorithm) {
  const counters = new Map<string, Cells>();
  return (request: CheckRequest): Map<string, Cells> => {
    const byId = new Map<string, Cells>();
    for (const spec of request.windows) {
      const key = algorithm.key(request.identity, spec);
      let cells = counters.get(key);
      if (!cells) {
        cells = new Map();
        counters.set(key, cells);
      }
      byId.set(spec.id, cells);
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
export function createMemoryStore(
  clock: Clock = systemClock,
  algorithm: Algorithm = DEFAULT_ALGORITHM,
): CounterStore {
  const windowsOf = memoryCounters(algorithm);
  return {
    name: 'memory',
    async check(request: CheckRequest) {
      const now = request.now ?? clock.now();
      return algorithm.check(
        request.windows,
        windowsOf(request),
        now,
        request.cost ?? 1,
        request.consume ?? true,
      ).result;
    },
  };
}

/**
 * A leaser that grants `fast` leases from counters in this process: the Durable Object's lease
 * logic without the object, so many simulated isolates can share it in one run.
 */
export function createMemoryLeaser(
  clock: Clock = systemClock,
  algorithm: Algorithm = DEFAULT_ALGORITHM,
): Leaser {
  const windowsOf = memoryCounters(algorithm);
  return async (request, ask) =>
    algorithm.lease(request.windows, windowsOf(request), request.now ?? clock.now(), ask).result;
}
