/**
 * The limits the worker applies to one customer, and where each comes from (tier default, the
 * customer's own record, an override in force, a policy or customer endpoint rule). Pure; the
 * same rules as `resolvePolicy` in src/policy/resolve-policy.ts, which a test holds it to.
 */
import type { Limit } from '../../src/policy/limit-spec';
import type { CustomerRecord, EndpointRule, PolicyConfig } from '../../src/policy/records';
import { activeOverride } from '../../src/policy/resolve-policy';

/** One window the worker will enforce (or try in shadow) for the customer. */
export interface EffectiveLimit {
  readonly limit: Limit;
  /** `all requests`, or the endpoint rule's `METHOD path`. */
  readonly appliesTo: string;
  /** Endpoint rule id, when the limit is one. */
  readonly rule?: string;
  readonly source: string;
  readonly shadow: boolean;
}

/**
 * Explains the effective limits of a customer at `now`.
 * @example effectiveLimits(DEFAULT_POLICY, { tier: 'free' }, Date.now())
 * // [{ limit: 100/1m, appliesTo: 'all requests', source: 'free tier default' }, ...]
 */
export function effectiveLimits(
  policy: PolicyConfig,
  customer: CustomerRecord,
  now: number,
): EffectiveLimit[] {
  const { tier } = customer;
  const own = customer.limits?.length ? customer.limits : undefined;
  const baseSource = own ? 'customer record' : `${tier} tier default`;
  const override = activeOverride(customer.overrides, now);
  const byWindow = new Map<string, EffectiveLimit>();
  // "unlimited": no plan window at all (overrides and endpoint rules still add theirs).
  for (const limit of customer.unlimited ? [] : (own ?? policy.tiers[tier])) {
    byWindow.set(limit.window, {
      limit,
      appliesTo: 'all requests',
      source: baseSource,
      shadow: false,
    });
  }
  for (const limit of override?.limits ?? []) {
    const replaced = byWindow.get(limit.window);
    byWindow.set(limit.window, {
      limit,
      appliesTo: 'all requests',
      source: `override until ${override?.expiresAt}${replaced ? ` (replaces ${replaced.limit.limit}/${limit.window})` : ''}`,
      shadow: false,
    });
  }
  const out = [...byWindow.values()];

  const rules = new Map<string, { rule: EndpointRule; source: string }>();
  for (const r of policy.endpoints) {
    const limits = r.limits[tier];
    if (!limits?.length) continue;
    rules.set(r.id, {
      rule: { id: r.id, method: r.method, path: r.path, limits, shadow: r.shadow },
      source: `policy rule "${r.id}" (${tier})`,
    });
  }
  for (const r of customer.endpoints ?? []) {
    const replaced = rules.has(r.id);
    rules.set(r.id, {
      rule: r,
      source: `customer rule "${r.id}"${replaced ? ' (replaces the policy rule)' : ''}`,
    });
  }
  for (const { rule, source } of rules.values()) {
    for (const limit of rule.limits) {
      out.push({
        limit,
        appliesTo: `${rule.method} ${rule.path}`,
        rule: rule.id,
        source,
        shadow: rule.shadow === true,
      });
    }
  }
  return out;
}
