/**
 * A circuit breaker around a counter store: after repeated failures it stops calling the store
 * for a cool-down, then lets one probe through and closes again when the probe succeeds. One
 * breaker per failure domain: with a Durable Object per identity, one slow object opens only its
 * own identity's breaker, so it can never lift anybody else's limits.
 */
import type { Clock } from '../clock';
import { BoundedMap } from '../limiter/bounded-map';
import { type CheckRequest, type CounterStore, StoreError } from '../limiter/contract';
import type { BreakerState, BreakerStatus } from '../telemetry/telemetry';

/** Options of {@link withCircuitBreaker}; defaults in brackets. */
export interface BreakerOptions {
  readonly clock: Clock;
  /** Consecutive failures that open the breaker [5]. */
  readonly failureThreshold?: number;
  /** How long it stays open before a probe [5000 ms]. */
  readonly openMs?: number;
  /**
   * The failure domain of a request [one for the whole store]. Durable Object stores pass the
   * identity: each object fails on its own.
   */
  readonly domainOf?: (request: CheckRequest) => string;
  /** Most domains tracked; the least recently failing are forgotten first [10,000]. */
  readonly maxDomains?: number;
  /** Told about every state change (logs, metrics, alerts), with the domain it concerns. */
  readonly onChange?: (state: BreakerState, store: string, reason: string, domain: string) => void;
}

/** A store wrapped in a breaker, with its state readable for health endpoints. */
export interface BrokenCircuitStore extends CounterStore {
  /** The worst state of any domain, since when, and how many domains are not closed. */
  state(): BreakerStatus & { readonly openDomains: number };
}

interface Domain {
  state: BreakerState;
  since: number | null;
  failures: number;
  probing: boolean;
}

/**
 * Wraps `store`. While a domain's breaker is open, its checks fail at once with a `StoreError`
 * (reason `unavailable`), so the limiter fails open or closed without waiting for a sick store's
 * time budget; other domains are unaffected.
 */
export function withCircuitBreaker(
  store: CounterStore,
  options: BreakerOptions,
): BrokenCircuitStore {
  const threshold = options.failureThreshold ?? 5;
  const openMs = options.openMs ?? 5_000;
  const domainOf = options.domainOf ?? (() => store.name);
  // Only domains that failed are tracked: a healthy domain is the absence of an entry, so
  // attacker-chosen identities cannot grow this map beyond its bound.
  const domains = new BoundedMap<string, Domain>(options.maxDomains ?? 10_000);

  const move = (name: string, d: Domain, next: BreakerState, reason: string) => {
    if (next === d.state) return;
    d.state = next;
    d.since = options.clock.now();
    if (next === 'closed') domains.delete(name);
    options.onChange?.(next, store.name, reason, name);
  };

  return {
    name: store.name,
    state: () => {
      let worst: { state: BreakerState; since: number | null } = { state: 'closed', since: null };
      let openDomains = 0;
      const rank = { closed: 0, 'half-open': 1, open: 2 } as const;
      for (const d of domains.values()) {
        if (d.state === 'closed') continue;
        openDomains++;
        if (
          rank[d.state] > rank[worst.state] ||
          (d.state === worst.state && (d.since ?? 0) < (worst.since ?? Infinity))
        )
          worst = { state: d.state, since: d.since };
      }
      return { ...worst, openDomains };
    },
    async check(request: CheckRequest) {
      const name = domainOf(request);
      const d = domains.get(name) ?? { state: 'closed', since: null, failures: 0, probing: false };
      if (d.state === 'open') {
        if (options.clock.now() - (d.since ?? 0) < openMs || d.probing) {
          throw new StoreError(store.name, 'unavailable', 'circuit breaker open');
        }
        move(name, d, 'half-open', 'cool-down elapsed, probing');
      }
      if (d.state === 'half-open' && d.probing) {
        throw new StoreError(
          store.name,
          'unavailable',
          'circuit breaker half-open, probe in flight',
        );
      }
      const isProbe = d.state === 'half-open';
      if (isProbe) d.probing = true;
      try {
        const outcome = await store.check(request);
        d.failures = 0;
        if (d.state !== 'closed') move(name, d, 'closed', 'probe succeeded');
        else domains.delete(name);
        return outcome;
      } catch (error) {
        d.failures++;
        domains.set(name, d);
        const reason = error instanceof Error ? error.message : String(error);
        if (isProbe || d.failures >= threshold) move(name, d, 'open', reason);
        throw error;
      } finally {
        if (isProbe) d.probing = false;
      }
    },
  };
}
