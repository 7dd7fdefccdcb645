/** The worker's settings for a simulated fleet, parsed by the worker's own `readSettings`. */
import { type Bindings, readSettings, type Settings } from '../../src/env';
import type { Scenario } from './scenario';

/**
 * Hybrid-mode settings as a deployment with these vars would get them: the scenario's store
 * budget, breaker and config TTL, every other setting at its default.
 */
export function hybridSettings(
  scenario: Pick<
    Scenario,
    'storeBudgetMs' | 'leaseWaitMs' | 'returnTimer' | 'breaker' | 'configTtlMs'
  >,
  redis: { readonly url: string; readonly token: string },
): Settings {
  const vars = {
    ORIGIN_URL: 'demo',
    LIMITER_STORE: 'hybrid',
    RESERVED_PREFIX: '/_edgelimit',
    DASHBOARD_ORIGIN: 'http://127.0.0.1:8788',
    SEED_DEMO: 'false',
    STORE_BUDGET_MS: String(scenario.storeBudgetMs),
    LEASE_WAIT_MS: String(scenario.leaseWaitMs),
    LEASE_RETURN_TIMER: String(scenario.returnTimer),
    CONFIG_TTL_MS: String(scenario.configTtlMs),
    BREAKER_FAILURES: String(scenario.breaker.failures),
    BREAKER_OPEN_MS: String(scenario.breaker.openMs),
    UPSTASH_REDIS_REST_URL: redis.url,
    UPSTASH_REDIS_REST_TOKEN: redis.token,
  };
  // Only vars are read; the bindings themselves are the caller's (see fleet.ts).
  return readSettings(vars as unknown as Bindings);
}
