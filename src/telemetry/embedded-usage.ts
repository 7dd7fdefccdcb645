/** The embedded usage source and sink: the "fleet" instance of the usage Durable Object. */
import type { UsageObject } from './usage-object';
import { USAGE_INSTANCE } from './usage-object';
import type { UsageSource } from './usage-source';

/** The one usage object every isolate writes to and reads from. */
export function usageStub(namespace: DurableObjectNamespace<UsageObject>) {
  return namespace.get(namespace.idFromName(USAGE_INSTANCE));
}

/**
 * Usage read from the usage Durable Object: works locally with no Cloudflare account.
 * @example const usage = createEmbeddedUsage(env.USAGE); await usage.fleetMetrics(span);
 */
export function createEmbeddedUsage(namespace: DurableObjectNamespace<UsageObject>): UsageSource {
  return {
    name: 'embedded',
    customerUsage: (customerId, span) => usageStub(namespace).customerUsage(customerId, span),
    fleetMetrics: (span) => usageStub(namespace).fleetMetrics(span),
  };
}
