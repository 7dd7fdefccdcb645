/** Counter store backed by one Durable Object per identity (the hot cache), optionally hybrid. */
import type { CheckRequest, CounterStore } from './counter-store';
import { StoreError } from './counter-store';
import type { LimiterCallOptions, LimiterObject } from './limiter-object';

/**
 * Options of {@link createDurableObjectStore}: passed to the object with every call. With
 * `writeBehind` (hybrid mode) the object writes counts behind to that Redis and reloads cold
 * windows from it, waiting at most `reloadBudgetMs`.
 */
export type DurableObjectStoreOptions = LimiterCallOptions;

/**
 * Creates a store that routes each identity to its own Durable Object, where decisions are
 * serialized in memory: exact under any concurrency, one RPC per check, no Redis on the hot path.
 */
export function createDurableObjectStore(
  namespace: DurableObjectNamespace<LimiterObject>,
  options: DurableObjectStoreOptions = {},
): CounterStore {
  const callOptions = options;
  return {
    name: options.writeBehind ? 'hybrid' : 'durable-object',
    async check(request: CheckRequest) {
      const stub = namespace.get(namespace.idFromName(request.identity));
      try {
        return await stub.check(request, callOptions);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        throw new StoreError('durable-object', 'unavailable', message);
      }
    },
  };
}
