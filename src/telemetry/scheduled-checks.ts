/** The scheduled (cron) check: finds fleet anomalies in the last complete minute and alerts. */
import type { Bindings } from '../env';
import { deliverAlerts } from './alert-delivery';
import type { Alert } from './alerts';
import {
  type AnomalyRules,
  DEFAULT_RULES,
  detectAnomalies,
  writeBehindCandidates,
} from './anomaly';
import { usageStub } from './embedded-usage';
import { log } from './log';
import type { RetryOptions } from './webhook';

/** Options of {@link runScheduledChecks}. */
export interface ScheduledOptions {
  readonly rules?: AnomalyRules;
  readonly retry?: RetryOptions;
}

/**
 * Reads the last `baselineMinutes + 1` complete minutes from the usage object, runs the anomaly
 * rules, records the alerts that pass dedup and delivers them. Errors are logged, not thrown.
 * @returns the alerts raised now.
 */
export async function runScheduledChecks(
  env: Bindings,
  now: number,
  options: ScheduledOptions = {},
): Promise<Alert[]> {
  const rules = options.rules ?? DEFAULT_RULES;
  try {
    const stub = usageStub(env.USAGE);
    const last = Math.floor(now / 60_000) * 60_000 - 60_000;
    const [minutes, breaker, writeBehind] = await Promise.all([
      stub.minutes(last - rules.baselineMinutes * 60_000, last),
      stub.breaker(now),
      stub.writeBehindFailures(last, last),
    ]);
    const candidates = [
      ...detectAnomalies(minutes, breaker, rules),
      ...writeBehindCandidates(last, writeBehind, rules.quietMs),
    ];
    const admitted = candidates.length ? await stub.raise(candidates, now) : [];
    await deliverAlerts(admitted, {
      ...(env.ALERT_WEBHOOK_URL ? { webhookUrl: env.ALERT_WEBHOOK_URL } : {}),
      ...(options.retry ? { retry: options.retry } : {}),
    });
    return admitted;
  } catch (error) {
    log('internal-error', { where: 'scheduled-checks', message: String(error) }, 'error');
    return [];
  }
}
