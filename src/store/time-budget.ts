/** Gives every call to a store a time budget: past it, the call fails with a timeout StoreError. */
import type { CheckRequest, CounterStore, ReleaseRequest } from '../limiter/contract';
import { withBudget } from '../limiter/decide';

/**
 * Wraps `store` so `check` rejects after `budgetMs`. The late answer is dropped; the limiter then
 * fails open or closed, so a slow store adds at most `budgetMs` to a request.
 */
export function withTimeBudget(store: CounterStore, budgetMs: number): CounterStore {
  return {
    name: store.name,
    check: (request: CheckRequest) => withBudget(store.check(request), budgetMs, store.name),
    ...(store.release
      ? {
          release: (request: ReleaseRequest) =>
            withBudget(store.release?.(request) ?? Promise.resolve(), budgetMs, store.name),
        }
      : {}),
  };
}
