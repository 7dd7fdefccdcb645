/** The policy of a verified caller: resolved from KV config for a path, or for every path at once. */
import type { Caller } from '../identity/identify';
import { createPolicyMemo } from '../policy/policy-memo';
import type { ResolvedPolicy, ResolvedWindow } from '../policy/resolve-policy';
import type { Services } from '../services';

/**
 * This isolate's resolved policies: keyed by the config objects themselves, so a KV edit applies
 * when the config cache reads it again, as without the memo.
 */
const resolvePolicy = createPolicyMemo();

/** A caller that is limited (services bypass the limiter). */
export type LimitedCaller = Exclude<Caller, { kind: 'service' }>;

/** The policy of a verified, limited caller for one request. */
export async function policyFor(
  services: Pick<Services, 'config' | 'clock' | 'settings'>,
  caller: LimitedCaller,
  method: string,
  path: string,
  overrideMethods: readonly string[] = [],
): Promise<ResolvedPolicy> {
  const policy = await services.config.policy();
  const now = services.clock.now();
  const slotLeaseMs = services.settings.slotLeaseMs;
  const defaultConsistency = services.settings.consistency;
  if (caller.kind === 'anonymous')
    return resolvePolicy({
      policy,
      tier: 'anonymous',
      method,
      overrideMethods,
      path,
      now,
      slotLeaseMs,
      defaultConsistency,
    });
  const customer = await services.config.customer(caller.customerId);
  return resolvePolicy({
    policy,
    tier: customer?.tier ?? 'free',
    ...(customer ? { customer } : {}),
    method,
    overrideMethods,
    path,
    now,
    slotLeaseMs,
    defaultConsistency,
  });
}

/**
 * Every window that applies to the caller, regardless of path: the tier's (or customer's) own
 * windows plus the windows of every endpoint rule for their tier or customer record.
 */
export async function windowsFor(services: Services, caller: LimitedCaller) {
  const base = await policyFor(services, caller, 'GET', `${services.settings.prefix}/rate_limit`);
  const windows: ResolvedWindow[] = base.windows.filter((w) => !w.rule);
  const config = await services.config.policy();
  const customer =
    caller.kind === 'customer' ? await services.config.customer(caller.customerId) : null;
  const rules = new Map<string, { method: string; path: string }>();
  /** Units one request of a rule costs, where not 1 (the largest cost on the rule's example path). */
  const costs: Record<string, number> = {};
  for (const r of config.endpoints) {
    if (r.limits[base.tier]?.length || r.concurrency?.[base.tier] !== undefined) rules.set(r.id, r);
  }
  for (const r of customer?.endpoints ?? []) rules.set(r.id, r);
  for (const [id, rule] of rules) {
    // Resolve the rule through the same path as real traffic, with a path its pattern matches.
    const method = rule.method === '*' ? 'GET' : rule.method;
    const policy = await policyFor(services, caller, method, examplePath(rule.path));
    if ((policy.cost ?? 1) !== 1) costs[id] = policy.cost ?? 1;
    for (const w of policy.windows) {
      if (w.rule === id && !windows.some((x) => x.id === w.id)) windows.push(w);
    }
  }
  return {
    windows,
    tier: base.tier,
    override: base.override,
    rules,
    costs,
    unlimited: base.unlimited === true,
    consistency: base.consistency,
  };
}

/** A concrete path matched by an endpoint pattern (`:id`, `*` and `**` become one segment). */
export function examplePath(pattern: string): string {
  return pattern
    .split('/')
    .map((s) => (s === '*' || s === '**' || s.startsWith(':') ? 'x' : s))
    .join('/');
}
