/** The composition root: builds each port's implementation once per isolate from the settings. */
import { type Clock, systemClock } from './clock';
import { type Bindings, readSettings, type Settings } from './env';
import { createFailedAttemptsGuard, type FailedAttemptsGuard } from './identity/failed-attempts';
import { createKeyHasher, type KeyHasher } from './identity/key-hasher';
import { createTokenVerifier, type ServiceTokenVerifier } from './identity/service-tokens';
import type { CounterStore } from './limiter/contract';
import { type ConfigStore, createConfigStore } from './policy/config-store';
import { type ComposedStore, composeStore } from './store/compose';
import { createAnalyticsEngineUsage } from './telemetry/analytics-engine-usage';
import { createTelemetry } from './telemetry/create-telemetry';
import { createEmbeddedUsage } from './telemetry/embedded-usage';
import { log } from './telemetry/log';
import type { OperatorAlert, Telemetry } from './telemetry/telemetry';
import type { UsageSource } from './telemetry/usage-source';

/** Everything a request handler uses, built once per isolate. */
export interface Services {
  readonly settings: Settings;
  readonly clock: Clock;
  readonly config: ConfigStore;
  readonly counters: CounterStore;
  /** Breaker state and Redis command counts of the counter store. */
  readonly storeHealth: Pick<
    ComposedStore,
    | 'breaker'
    | 'redisCommands'
    | 'takeBreakerChanges'
    | 'pending'
    | 'renewalsInFlight'
    | 'armReturns'
  > & {
    readonly store: { hits(): number };
  };
  readonly verifyServiceToken: ServiceTokenVerifier;
  readonly verifyAdminToken: ServiceTokenVerifier;
  /** Client addresses over the failed-attempts limit in this isolate (keys and admin tokens). */
  readonly failedAttempts: FailedAttemptsGuard;
  /** SHA-256 of presented API keys, remembered per isolate. */
  readonly hashKey: KeyHasher;
  readonly telemetry: Telemetry;
  /** Usage history: Analytics Engine when CF_ACCOUNT_ID and CF_API_TOKEN are set, else embedded. */
  readonly usage: UsageSource;
  /**
   * Raises an operator alert outside the decision path (a malformed KV record, an increase
   * request): always logged, then handed to the telemetry's alert sink when it has one.
   */
  readonly alert: (alert: OperatorAlert) => Promise<void>;
}

const built = new WeakMap<object, Services>();

/** Returns this isolate's services for `env`, building them on first use. */
export function getServices(env: Bindings): Services {
  const existing = built.get(env);
  if (existing) return existing;
  const settings = readSettings(env);
  const clock = systemClock;
  const composed = composeStore(env, settings, clock);
  const telemetry = createTelemetry({
    metrics: env.METRICS,
    usage: env.USAGE,
    clock,
    alertThreshold: settings.alertThreshold,
    ...(env.ALERT_WEBHOOK_URL ? { webhookUrl: env.ALERT_WEBHOOK_URL } : {}),
  });
  const services: Services = {
    settings,
    clock,
    config: createConfigStore({
      kv: env.CONFIG,
      clock,
      ttlMs: settings.configTtlMs,
      onProblem: (p) => {
        log(
          'config-error',
          { key: p.key, message: p.message, keptLastGood: p.keptLastGood },
          'error',
        );
        // A config read has no execution context to extend: the log lines are written at once,
        // the webhook delivery runs alongside the request that triggered the read.
        alert({
          kind: 'config-error',
          message: `KV record ${p.key} is malformed (${p.message}); ${p.keptLastGood ? 'the last good value stays in force' : 'the default applies'}.`,
        }).catch((error: unknown) => {
          log('alert-delivery-failed', { kind: 'config-error', message: String(error) }, 'error');
        });
      },
    }),
    counters: composed.store,
    storeHealth: composed,
    verifyServiceToken: createTokenVerifier(settings.serviceTokens),
    verifyAdminToken: createTokenVerifier(
      settings.adminToken !== undefined ? [{ name: 'admin', token: settings.adminToken }] : [],
    ),
    failedAttempts: createFailedAttemptsGuard(),
    hashKey: createKeyHasher(),
    telemetry,
    usage:
      env.CF_ACCOUNT_ID && env.CF_API_TOKEN
        ? createAnalyticsEngineUsage({ accountId: env.CF_ACCOUNT_ID, apiToken: env.CF_API_TOKEN })
        : createEmbeddedUsage(env.USAGE),
    alert: (a) => alert(a),
  };
  async function alert(a: OperatorAlert): Promise<void> {
    // Telemetry logs the alert when it delivers it (once, after dedup); log here only without it.
    if (telemetry.raiseAlert) await telemetry.raiseAlert(a);
    else log('alert', { kind: a.kind, customerId: a.customerId, message: a.message }, 'warn');
  }
  built.set(env, services);
  return services;
}
