/**
 * A circuit breaker around a counter store: after repeated failures it stops calling the store
 * for a cool-down, then lets one probe through and closes again when the probe succeeds.
 */
import type { Clock } from '../clock';
import { type CheckRequest, type CounterStore, StoreError } from '../limiter/contract';
import type { BreakerState, BreakerStatus } from '../telemetry/telemetry';

/** Options of {@link withCircuitBreaker}; defaults in brackets. */
export interface BreakerOptions {
  readonly clock: Clock;
  /** Consecutive failures that open the breaker [5]. */
  readonly failureThreshold?: number;
  /** How long it stays open before a probe [5000 ms]. */
  readonly openMs?: number;
  /** Told about every state change (logs, metrics, alerts). */
  readonly onChange?: (state: BreakerState, store: string, reason: string) => void;
}

/** A store wrapped in a breaker, with its state readable for health endpoints. */
export interface BrokenCircuitStore extends CounterStore {
  state(): BreakerStatus;
}

/**
 * Wraps `store`. While open, checks fail at once with a `StoreError` (reason `unavailable`), so
 * the limiter fails open or closed without waiting for a sick store's time budget.
 */
export function withCircuitBreaker(
  store: CounterStore,
  options: BreakerOptions,
): BrokenCircuitStore {
  const threshold = options.failureThreshold ?? 5;
  const openMs = options.openMs ?? 5_000;
  let state: BreakerState = 'closed';
  let since: number | null = null;
  let failures = 0;
  let probing = false;

  const move = (next: BreakerState, reason: string) => {
    if (next === state) return;
    state = next;
    since = options.clock.now();
    options.onChange?.(next, store.name, reason);
  };

  const release = store.release?.bind(store);
  return {
    name: store.name,
    state: () => ({ state, since }),
    // A release is cleanup, not a decision: it neither waits for nor moves the breaker. If it
    // fails, the slot frees itself when its lease ends.
    ...(release ? { release } : {}),
    async check(request: CheckRequest) {
      if (state === 'open') {
        if (options.clock.now() - (since ?? 0) < openMs || probing) {
          throw new StoreError(store.name, 'unavailable', 'circuit breaker open');
        }
        move('half-open', 'cool-down elapsed, probing');
      }
      if (state === 'half-open' && probing) {
        throw new StoreError(
          store.name,
          'unavailable',
          'circuit breaker half-open, probe in flight',
        );
      }
      const isProbe = state === 'half-open';
      if (isProbe) probing = true;
      try {
        const outcome = await store.check(request);
        failures = 0;
        if (state !== 'closed') move('closed', 'probe succeeded');
        return outcome;
      } catch (error) {
        failures++;
        const reason = error instanceof Error ? error.message : String(error);
        if (isProbe || failures >= threshold) move('open', reason);
        throw error;
      } finally {
        if (isProbe) probing = false;
      }
    },
  };
}
