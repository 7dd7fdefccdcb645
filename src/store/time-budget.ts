/** Gives every call to a store a time budget: past it, the call fails with a timeout StoreError. */
import { type CheckRequest, type CounterStore, StoreError } from './counter-store';

/**
 * Wraps `store` so `check` rejects after `budgetMs`. The late answer is dropped; the limiter then
 * fails open or closed, so a slow store adds at most `budgetMs` to a request.
 */
export function withTimeBudget(store: CounterStore, budgetMs: number): CounterStore {
  return {
    name: store.name,
    check: (request: CheckRequest) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new StoreError(store.name, 'timeout', `no answer within ${budgetMs} ms`)),
          budgetMs,
        );
      });
      return Promise.race([store.check(request), timeout]).finally(() => clearTimeout(timer));
    },
  };
}
