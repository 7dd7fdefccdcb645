/**
 * The real telemetry: an Analytics Engine data point per decision, and per-isolate batches of
 * usage counters and alert candidates flushed to the usage Durable Object in one RPC, all from
 * `waitUntil` so nothing here delays a response.
 *
 * One batch per isolate: the first decision after a flush schedules the next one,
 * `flushDelayMs` later (or at once when `maxBatchEvents` decisions wait); every decision until
 * then joins that batch and resolves with its flush, so each request's `waitUntil` still covers
 * the RPC that carries its counts. An isolate thus calls the usage object at most once per
 * `flushDelayMs` (plus once per `maxBatchEvents` decisions), whatever its request rate.
 */

import type { Clock } from '../clock';
import { sha256Hex } from '../identity/hash';
import { BoundedMap } from '../limiter/bounded-map';
import { deliverAlerts } from './alert-delivery';
import { type AlertCandidate, customerAlertCandidates } from './alerts';
import { toDataPoint } from './data-point';
import { type UsageNamespace, usageStub } from './embedded-usage';
import { log } from './log';
import type { BreakerChange, DecisionEvent, OperatorAlert, Telemetry } from './telemetry';
import {
  addDecision,
  emptyBatch,
  isEmpty,
  MAX_REJECTIONS_PER_BATCH,
  type UsageBatch,
} from './usage-batch';
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
  /**
   * Longest a decision waits for its batch to be flushed, i.e. the isolate's shortest interval
   * between two usage RPCs; default {@link FLUSH_DELAY_MS}.
   */
  readonly flushDelayMs?: number;
  /** Decisions after which a batch is flushed at once; default {@link MAX_BATCH_EVENTS}. */
  readonly maxBatchEvents?: number;
}

/** Default of `flushDelayMs`: counts reach the usage object within this long. */
export const FLUSH_DELAY_MS = 100;

/**
 * Default of `maxBatchEvents`. A batch holds a row per customer, rule and minute, and one per
 * rejection: as many rejections as a batch keeps, so a full batch drops none.
 */
export const MAX_BATCH_EVENTS = MAX_REJECTIONS_PER_BATCH;

/** Client address hashes remembered per isolate (Analytics Engine subjects of anonymous callers). */
const MAX_IP_HASHES = 10_000;

/** A batch decisions are joining, and the flush that will send it. */
interface OpenBatch {
  readonly batch: UsageBatch;
  /** Decisions in the batch. */
  events: number;
  /** Sends the batch now instead of at its scheduled time. */
  readonly flushNow: () => void;
  /** Resolves once the batch is sent (or its send failed and was logged). */
  readonly sent: Promise<void>;
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
  const delay = options.flushDelayMs ?? FLUSH_DELAY_MS;
  const maxEvents = options.maxBatchEvents ?? MAX_BATCH_EVENTS;
  const delivery = {
    ...(options.webhookUrl ? { webhookUrl: options.webhookUrl } : {}),
    ...(options.retry ? { retry: options.retry } : {}),
  };
  /** The batch decisions join now; unset until a decision opens one after a flush. */
  let open: OpenBatch | undefined;
  const seen = new Map<string, number>();
  // The same address is hashed once per isolate, not once per request (SHA-256 is a crypto call).
  const ipHashes = new BoundedMap<string, string>(MAX_IP_HASHES);

  async function ipHash(ip: string): Promise<string> {
    const known = ipHashes.get(ip);
    if (known !== undefined) return known;
    const hash = (await sha256Hex(ip)).slice(0, 16);
    ipHashes.set(ip, hash);
    return hash;
  }

  /** The open batch, opened (and its flush scheduled `delay` from now) if there is none. */
  function current(): OpenBatch {
    if (open) return open;
    let fire = () => {};
    const trigger = new Promise<void>((resolve) => {
      fire = resolve;
    });
    // Closed at once, so no decision joins a batch whose send has been decided.
    const flushNow = () => {
      if (open === opened) open = undefined;
      fire();
    };
    const timer = delay > 0 ? setTimeout(flushNow, delay) : undefined;
    const opened: OpenBatch = {
      batch: emptyBatch(),
      events: 0,
      flushNow,
      sent: trigger.then(() => {
        if (timer !== undefined) clearTimeout(timer);
        return flush(opened);
      }),
    };
    open = opened;
    if (delay <= 0) flushNow();
    return opened;
  }

  function enqueue(candidate: AlertCandidate, batch: UsageBatch): boolean {
    const now = options.clock.now();
    const expires = seen.get(candidate.dedupKey);
    if (expires !== undefined && expires > now) return false;
    if (seen.size >= MAX_SEEN) {
      for (const [key, until] of seen) if (until <= now) seen.delete(key);
      if (seen.size >= MAX_SEEN) seen.clear();
    }
    seen.set(candidate.dedupKey, candidate.expiresAt);
    batch.alerts.push(candidate);
    return true;
  }

  /** Sends a closed batch in one RPC. */
  async function flush(closing: OpenBatch): Promise<void> {
    const { batch } = closing;
    if (isEmpty(batch) || !options.usage) return;
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
          options.metrics.writeDataPoint(toDataPoint(event, await ipHash(ip)));
        } catch (error) {
          log('internal-error', { where: 'metrics', message: String(error) }, 'error');
        }
      }
      if (!options.usage) return;
      const into = current();
      addDecision(into.batch, event);
      for (const candidate of customerAlertCandidates(event, threshold)) {
        if (!enqueue(candidate, into.batch) || candidate.alert.kind !== 'approaching') continue;
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
      // Resolves once the batch carrying this decision is sent: the request's waitUntil covers it.
      into.events++;
      if (into.events >= maxEvents) into.flushNow();
      return into.sent;
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
      // The same broken record is reported once an hour, an origin sending bad charges once an
      // hour per customer; every increase request is its own alert.
      const hourly = raised.kind === 'config-error' || raised.kind === 'origin-charge';
      const dedupKey =
        raised.kind === 'config-error'
          ? `config-error:${raised.message}:${hour}`
          : raised.kind === 'origin-charge'
            ? `origin-charge:${raised.customerId ?? ''}:${hour}`
            : `${raised.kind}:${raised.customerId ?? ''}:${now}:${crypto.randomUUID()}`;
      const severity =
        raised.kind === 'config-error'
          ? 'critical'
          : raised.kind === 'origin-charge'
            ? 'warning'
            : 'info';
      const into = current();
      enqueue(
        {
          dedupKey,
          expiresAt: hourly ? hour + 3_600_000 : now + 60_000,
          alert: {
            time: now,
            kind: raised.kind,
            severity,
            ...(raised.customerId ? { customerId: raised.customerId } : {}),
            message: raised.message,
            fields: {},
          },
        },
        into.batch,
      );
      // An operator alert goes out now, with whatever decisions are waiting.
      into.flushNow();
      await into.sent;
    },
  };
}
