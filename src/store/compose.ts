/**
 * Assembles the counter store for a store mode: L1 -> shards -> leases -> breaker -> time budget
 * -> store(s).
 */
import type { Clock } from '../clock';
import type { Bindings, Settings } from '../env';
import type { CheckRequest, CounterStore } from '../limiter/contract';
import { log } from '../telemetry/log';
import type { BreakerChange, BreakerStatus } from '../telemetry/telemetry';
import { type BlockedCacheStore, withBlockedCache } from './blocked-cache';
import { withCircuitBreaker } from './circuit-breaker';
import { createDurableObjectStore, type LimiterCallOptions } from './durable-object-store';
import { durableObjectLeaser, type LeaseOptions, withLeases } from './lease-store';
import { createMemoryStore } from './memory-store';
import { createRedisClient } from './redis-client';
import { createRedisStore } from './redis-store';
import { returnTimer, type Wait } from './return-timer';
import { withShards } from './shard-store';
import { withTimeBudget } from './time-budget';

/** The assembled store and the health figures it exposes. */
export interface ComposedStore {
  readonly store: BlockedCacheStore;
  breaker(): BreakerStatus & { readonly openDomains: number };
  /** Redis commands sent from this isolate (the DO's own write-behind commands not included). */
  redisCommands(): number;
  /** Breaker transitions not yet reported to telemetry; taking them empties the list. */
  takeBreakerChanges(): BreakerChange[];
  /** Resolves once no `fast` lease renewal is in flight (tests and the 0 ms agreement run). */
  settled(): Promise<void>;
  /**
   * Resolves once the renewals in flight now have landed (not those started later): a request
   * passes it to `waitUntil`, so a background renewal it started is not cut off with it.
   */
  pending(): Promise<void>;
  /** `fast` lease renewals in flight in this isolate. */
  renewalsInFlight(): number;
  /**
   * Arms this isolate's timer that gives back leased units left unused if no request comes to
   * (`return-timer.ts`): its work, for the request's `waitUntil`, or `undefined` when it is armed
   * already, nothing is due, or `LEASE_RETURN_TIMER` is off.
   */
  armReturns(wait: Wait): Promise<void> | undefined;
}

/**
 * Builds the store chain for `settings.storeMode`:
 * - `memory`: this isolate only (tests, benchmarks).
 * - `durable-object`: one object per identity; no Redis.
 * - `redis`: one Lua script call per check.
 * - `hybrid`: the object per identity decides and writes behind to Redis in batches.
 * With a Durable Object, policies with `consistency: "fast"` decide from leases in the isolate,
 * above the breaker (see below).
 * Every mode gets the time budget, the circuit breaker and the L1 for blocked windows.
 * `leaseHints` go to the lease store as they are (the simulation's refusal oracle and seeded
 * randomness; none in the worker).
 */
export function composeStore(
  env: Bindings,
  settings: Settings,
  clock: Clock,
  leaseHints: Pick<LeaseOptions, 'refusedElsewhere' | 'random'> = {},
): ComposedStore {
  let commands = 0;
  let changes: BreakerChange[] = [];
  const redis = () => {
    if (!settings.redis) throw new Error('Redis settings missing');
    return createRedisStore({
      redis: createRedisClient(settings.redis.url, settings.redis.token),
      onCommand: () => {
        commands++;
      },
    });
  };
  const budget = (store: CounterStore) => withTimeBudget(store, settings.storeBudgetMs);
  // A renewal has its own, longer budget (RENEWAL_BUDGET_MS): only a request with nothing to
  // decide from waits for it, and that request waits at most the store budget.
  let leaserOptions: LimiterCallOptions | undefined;
  let base: CounterStore;
  switch (settings.storeMode) {
    case 'memory':
      base = createMemoryStore(clock);
      break;
    case 'redis':
      base = budget(redis());
      break;
    case 'durable-object':
      base = budget(createDurableObjectStore(env.LIMITER));
      leaserOptions = {};
      break;
    case 'hybrid': {
      // No direct-Redis fallback: Redis lags the object by the write-behind batch, so deciding
      // there could allow more than the limit. A sick object fails open or closed, marked.
      // A cold object does not wait for its Redis reload: it decides from its own storage (the
      // authority; Redis only lags it) and merges the reloaded counts when they land. Waiting
      // would turn every fresh identity into a timeout whenever Redis is tens of ms away.
      const reloadBudgetMs = 0;
      const callOptions = settings.redis
        ? { writeBehind: settings.redis, reloadBudgetMs }
        : { reloadBudgetMs };
      base = budget(createDurableObjectStore(env.LIMITER, callOptions));
      leaserOptions = callOptions;
      break;
    }
  }
  const breaker = withCircuitBreaker(base, {
    clock,
    failureThreshold: settings.breaker.failures,
    openMs: settings.breaker.openMs,
    // Redis is one failure domain; with a Durable Object per identity each object is its own,
    // so one sick object can open only its own identity's breaker.
    ...(settings.storeMode === 'redis' ? {} : { domainOf: (r: CheckRequest) => r.identity }),
    onChange: (state, store, reason, domain) => {
      log('breaker-change', { store, state, reason, domain }, state === 'open' ? 'error' : 'warn');
      if (changes.length < 100) changes.push({ store, state, at: clock.now() });
    },
  });
  // Leases decide above the breaker: a renewal is not a request, and requests served from a lease
  // must not be failed open by a breaker that slow renewals opened. The lease store has its own
  // rule for a failing object (after a failed renewal, requests with nothing to decide from fail
  // at once while one renewal probes); the exact path keeps the breaker.
  const leases = leaserOptions
    ? withLeases(breaker, durableObjectLeaser(env.LIMITER, leaserOptions), {
        clock,
        // A first contact's wait is one round trip to wherever the object lives: failing open
        // at the 50 ms store budget let most of a boundary attack through (npm run sim).
        waitBudgetMs: settings.leaseWaitMs,
        ...leaseHints,
      })
    : undefined;
  const armReturns =
    leases && settings.leaseReturnTimer ? returnTimer(leases, clock) : () => undefined;
  return {
    // Shards between the L1 and the leases: the L1 remembers the whole identity's refusals, the
    // leases are held per shard.
    store: withBlockedCache(
      leases
        ? withShards(leases, { now: () => clock.now(), random: leaseHints.random ?? Math.random })
        : breaker,
      clock,
    ),
    breaker: () => breaker.state(),
    redisCommands: () => commands,
    takeBreakerChanges: () => {
      const taken = changes;
      changes = [];
      return taken;
    },
    settled: () => leases?.settled() ?? Promise.resolve(),
    pending: () => leases?.pending() ?? Promise.resolve(),
    renewalsInFlight: () => leases?.renewalsInFlight() ?? 0,
    armReturns,
  };
}
