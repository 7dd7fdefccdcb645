/**
 * The real telemetry: an Analytics Engine data point per decision, and per-isolate batches of
 * usage counters and alert candidates flushed to the usage Durable Object in one RPC, all from
 * `waitUntil` so nothing here delays a response.
 */

import type { Clock } from '../clock';
import { sleep } from '../deadline';
import { sha256Hex } from '../identity/hash';
import { deliverAlerts } from './alert-delivery';
import { type AlertCandidate, customerAlertCandidates } from './alerts';
import { toDataPoint } from './data-point';
import { type UsageNamespace, usageStub } from './embedded-usage';
import { log } from './log';
import type { BreakerChange, DecisionEvent, OperatorAlert, Telemetry } from './telemetry';
import { addDecision, emptyBatch, isEmpty } from './usage-batch';
import type { RetryOptions } from './webhook';

/** Options of {@link createTelemetry}. */
export interface TelemetryOptions {
  /** Analytics Engine dataset; no data points without it. */
  readonly metrics?: AnalyticsEngineDataset;
  /** The usage Durable Object namespace; no aggregates or alerts without it. */
  readonly usage?: UsageNamespace;
  readonly clock: Clock;
  /** Share of a limit (0..1] at which a customer is "approaching" it; default 0.8. */
  readonly alertThreshold?: number;
  readonly webhookUrl?: string;
  readonly retry?: RetryOptions;
  /** How long a decision waits for others to share its flush; default 100 ms. */
  readonly flushDelayMs?: number;
}

/** Alert keys this isolate already sent; the usage object stays the authority across isolates. */
const MAX_SEEN = 10_000;

/**
 * Creates the telemetry for one isolate.
 * @example createTelemetry({ metrics: env.METRICS, usage: env.USAGE, clock: systemClock })
 */
export function createTelemetry(options: TelemetryOptions): Telemetry {
  const threshold = options.alertThreshold ?? 0.8;
  if (!(threshold > 0 && threshold <= 1)) {
    throw new Error(`alertThreshold: must be in (0, 1], got ${threshold}`);
  }
  const delay = options.flushDelayMs ?? 100;
  const delivery = {
    ...(options.webhookUrl ? { webhookUrl: options.webhookUrl } : {}),
    ...(options.retry ? { retry: options.retry } : {}),
  };
  let pending = emptyBatch();
  const seen = new Map<string, number>();

  function enqueue(candidate: AlertCandidate): boolean {
    const now = options.clock.now();
    const expires = seen.get(candidate.dedupKey);
    if (expires !== undefined && expires > now) return false;
    if (seen.size >= MAX_SEEN) {
      for (const [key, until] of seen) if (until <= now) seen.delete(key);
      if (seen.size >= MAX_SEEN) seen.clear();
    }
    seen.set(candidate.dedupKey, candidate.expiresAt);
    pending.alerts.push(candidate);
    return true;
  }

  /** Sends whatever is pending; the first waiter to wake takes every event queued so far. */
  async function flush(): Promise<void> {
    if (isEmpty(pending) || !options.usage) return;
    const batch = pending;
    pending = emptyBatch();
    try {
      const admitted = await usageStub(options.usage).record(batch, options.clock.now());
      await deliverAlerts(admitted, delivery);
    } catch (error) {
      // Counts of this batch are lost; alerts it carried may fire again from another isolate.
      for (const c of batch.alerts) seen.delete(c.dedupKey);
      log('internal-error', { where: 'usage-flush', message: String(error) }, 'error');
    }
  }

  return {
    async onDecision(event: DecisionEvent) {
      if (options.metrics) {
        try {
          const ip = event.caller?.ip ?? event.clientIp ?? 'unknown';
          const ipHash = (await sha256Hex(ip)).slice(0, 16);
          options.metrics.writeDataPoint(toDataPoint(event, ipHash));
        } catch (error) {
          log('internal-error', { where: 'metrics', message: String(error) }, 'error');
        }
      }
      if (!options.usage) return;
      addDecision(pending, event);
      for (const candidate of customerAlertCandidates(event, threshold)) {
        if (!enqueue(candidate) || candidate.alert.kind !== 'approaching') continue;
        log(
          'approaching-limit',
          {
            customerId: candidate.alert.customerId,
            tier: event.tier,
            window: String(candidate.alert.fields.window ?? ''),
            used: candidate.alert.fields.used,
            limit: candidate.alert.fields.limit,
            threshold,
          },
          'warn',
        );
      }
      if (delay > 0) await sleep(delay);
      await flush();
    },

    async onBreakerChange(change: BreakerChange) {
      // The hot path already logged the transition (with its reason) when it happened.
      if (!options.usage) return;
      try {
        await usageStub(options.usage).reportBreaker(change);
      } catch (error) {
        log('internal-error', { where: 'breaker-report', message: String(error) }, 'error');
      }
    },

    async raiseAlert(raised: OperatorAlert) {
      const now = options.clock.now();
      const hour = Math.floor(now / 3_600_000) * 3_600_000;
      // The same broken record is reported once an hour; every increase request is its own alert.
      const dedupKey =
        raised.kind === 'config-error'
          ? `config-error:${raised.message}:${hour}`
          : `${raised.kind}:${raised.customerId ?? ''}:${now}:${crypto.randomUUID()}`;
      enqueue({
        dedupKey,
        expiresAt: raised.kind === 'config-error' ? hour + 3_600_000 : now + 60_000,
        alert: {
          time: now,
          kind: raised.kind,
          severity: raised.kind === 'config-error' ? 'critical' : 'info',
          ...(raised.customerId ? { customerId: raised.customerId } : {}),
          message: raised.message,
          fields: {},
        },
      });
      await flush();
    },
  };
}
