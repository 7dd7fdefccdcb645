/** Counter store backed by one Durable Object per identity (the hot cache), optionally hybrid. */
import type { CheckOutcome, CheckRequest, CounterStore } from '../limiter/contract';
import { StoreError } from '../limiter/contract';
import type { LeaseAsk, LeaseGrant } from '../limiter/lease-protocol';

/** Options a caller passes with each call to the identity's object. */
export interface LimiterCallOptions {
  /**
   * Hybrid mode: write counts behind to this Redis and reload cold windows from it. The worker
   * passes its own settings so the object always agrees with the worker on which Redis is used.
   */
  readonly writeBehind?: { readonly url: string; readonly token: string };
  /**
   * Longest a request waits for a cold window's reload from Redis before the object decides from
   * its own state (the load goes on and is merged when it lands). The worker passes a share of
   * its own store budget, so a slow Redis can never turn a cold identity's answer into a timeout.
   */
  readonly reloadBudgetMs?: number;
}

/**
 * Options of {@link createDurableObjectStore}: passed to the object with every call. With
 * `writeBehind` (hybrid mode) the object writes counts behind to that Redis and reloads cold
 * windows from it, waiting at most `reloadBudgetMs`.
 */
export type DurableObjectStoreOptions = LimiterCallOptions;

/** What the identity's object answers over RPC (`objects/limiter-object.ts` implements it). */
export interface LimiterRpc {
  check(request: CheckRequest, options?: LimiterCallOptions): Promise<CheckOutcome>;
  lease(request: CheckRequest, ask: LeaseAsk, options?: LimiterCallOptions): Promise<LeaseGrant>;
}

/** The object namespace, as far as the store needs it: one stub per identity. */
export interface LimiterNamespace {
  idFromName(name: string): DurableObjectId;
  get(id: DurableObjectId): LimiterRpc;
}

/**
 * Creates a store that routes each identity to its own Durable Object, where decisions are
 * serialized in memory: exact under any concurrency, one RPC per check, no Redis on the hot path.
 */
export function createDurableObjectStore(
  namespace: LimiterNamespace,
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
