/** Counter store backed by one Durable Object per identity (the hot cache), optionally hybrid. */
import type { CheckRequest, CounterStore } from './counter-store';
import { StoreError } from './counter-store';
import type { LimiterObject } from './limiter-object';

/** Options of {@link createDurableObjectStore}. */
export interface DurableObjectStoreOptions {
  /** Hybrid mode: the object writes counts behind to this Redis and reloads cold windows from it. */
  readonly writeBehind?: { readonly url: string; readonly token: string };
}

/**
 * Creates a store that routes each identity to its own Durable Object, where decisions are
 * serialized in memory: exact under any concurrency, one RPC per check, no Redis on the hot path.
 */
export function createDurableObjectStore(
  namespace: DurableObjectNamespace<LimiterObject>,
  options: DurableObjectStoreOptions = {},
): CounterStore {
  const { writeBehind } = options;
  const callOptions = writeBehind ? { writeBehind } : {};
  return {
    name: writeBehind ? 'hybrid' : 'durable-object',
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
