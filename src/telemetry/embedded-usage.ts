/** The embedded usage source and sink: the "fleet" instance of the usage Durable Object. */
import type { Alert, AlertCandidate } from './alerts';
import type { MinuteCounters } from './anomaly';
import type { BreakerChange, BreakerStatus } from './telemetry';
import type { UsageBatch } from './usage-batch';
import { USAGE_INSTANCE, type WriteBehindFailures } from './usage-schema';
import type { CustomerUsage, FleetMetrics, Span, UsageSource } from './usage-source';

/** What the usage object answers over RPC (`objects/usage-object.ts` implements it). */
export interface UsageRpc {
  record(batch: UsageBatch, now?: number): Promise<Alert[]>;
  raise(candidates: readonly AlertCandidate[], now?: number): Promise<Alert[]>;
  customerUsage(customerId: string, span: Span): Promise<CustomerUsage>;
  fleetMetrics(span: Span): Promise<FleetMetrics>;
  minutes(from: number, to: number): Promise<MinuteCounters[]>;
  recentAlerts(limit?: number): Promise<Alert[]>;
  reportBreaker(report: BreakerChange): Promise<void>;
  breaker(now?: number): Promise<BreakerStatus>;
  reportWriteBehindFailure(at: number, message: string): Promise<void>;
  writeBehindFailures(from: number, to: number): Promise<WriteBehindFailures>;
}

/** The usage object namespace, as far as telemetry needs it. */
export interface UsageNamespace {
  idFromName(name: string): DurableObjectId;
  get(id: DurableObjectId): UsageRpc;
}

/** The one usage object every isolate writes to and reads from. */
export function usageStub(namespace: UsageNamespace): UsageRpc {
  return namespace.get(namespace.idFromName(USAGE_INSTANCE));
}

/**
 * Usage read from the usage Durable Object: works locally with no Cloudflare account.
 * @example const usage = createEmbeddedUsage(env.USAGE); await usage.fleetMetrics(span);
 */
export function createEmbeddedUsage(namespace: UsageNamespace): UsageSource {
  return {
    name: 'embedded',
    customerUsage: (customerId, span) => usageStub(namespace).customerUsage(customerId, span),
    fleetMetrics: (span) => usageStub(namespace).fleetMetrics(span),
  };
}
