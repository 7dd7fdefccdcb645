/** Counter store backed by one Durable Object per identity. */
import type { CheckRequest, CounterStore } from './counter-store';
import { StoreError } from './counter-store';
import type { LimiterObject } from './limiter-object';

/**
 * Creates a store that routes each identity to its own Durable Object, where decisions are
 * serialized in memory: exact under any concurrency, one RPC per check.
 */
export function createDurableObjectStore(
  namespace: DurableObjectNamespace<LimiterObject>,
): CounterStore {
  return {
    name: 'durable-object',
    async check(request: CheckRequest) {
      const stub = namespace.get(namespace.idFromName(request.identity));
      try {
        return await stub.check(request);
      } catch (error) {
        throw new StoreError(
          'durable-object',
          'unavailable',
          error instanceof Error ? error.message : String(error),
        );
      }
    },
  };
}
