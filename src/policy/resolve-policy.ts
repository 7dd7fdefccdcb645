/** Turns a caller's tier, customer record and request into the windows that apply: pure. */
import type { LimitPolicy, PolicyWindow } from '../limiter/contract';
import type { Limit } from './limit-spec';
import { limitsOf } from './limits-of';
import { matchPath } from './path-pattern';
import type {
  CustomerRecord,
  EndpointRule,
  Override,
  PolicyConfig,
  ThrottleConfig,
  Tier,
} from './records';

/** A window with where it came from, for headers, metrics and problem bodies. */
export type ResolvedWindow = PolicyWindow;

/** Everything the limiter needs to decide one request, and what the edge reports of it. */
export interface ResolvedPolicy extends LimitPolicy {
  readonly tier: Tier | 'anonymous';
  readonly windows: readonly ResolvedWindow[];
  readonly failMode: 'open' | 'closed';
  /** The temporary increase in force, if any. */
  readonly override?: Override;
  /** Graduated throttling in force (the customer's, else the policy's); absent = off. */
  readonly throttle?: ThrottleConfig;
  /** Units the request consumes of every window: the largest `cost` of its matching rules [1]. */
  readonly cost?: number;
  /** The customer record says `"unlimited": true`: no tier or customer windows. */
  readonly unlimited?: boolean;
}

/** Inputs of {@link resolvePolicy}. */
export interface PolicyInput {
  readonly policy: PolicyConfig;
  readonly tier: Tier | 'anonymous';
  readonly customer?: CustomerRecord;
  readonly method: string;
  /**
   * Methods named by method-override headers (see normalize-path.ts `effectiveMethods`): a rule
   * for any of them applies too.
   */
  readonly overrideMethods?: readonly string[];
  readonly path: string;
  /** Epoch ms, to tell which overrides are in force. */
  readonly now: number;
  /** How long a concurrency slot is leased (at least the origin timeout) [60 s]. */
  readonly slotLeaseMs?: number;
  /** Consistency when neither the customer record nor the policy sets one [exact]. */
  readonly defaultConsistency?: 'exact' | 'fast';
}

/** Default lease of a concurrency slot: a request that never gives its slot back frees it then. */
export const DEFAULT_SLOT_LEASE_MS = 60_000;

/** The concurrency limit `id` of `limit` requests in flight, as a window the limiter checks. */
export function concurrencyWindow(limit: number, leaseMs: number, rule?: string): ResolvedWindow {
  return {
    id: rule ? `${rule}:concurrency` : 'concurrency',
    kind: 'concurrency',
    limit,
    windowMs: leaseMs,
    window: 'in flight',
    ...(rule ? { rule } : {}),
  };
}

/**
 * Resolves the windows for one request: the tier's (or the customer's own) limits, raised by an
 * override in force (same window replaced, new windows added), plus every matching endpoint rule.
 * @example
 * resolvePolicy({ policy: DEFAULT_POLICY, tier: 'free', method: 'GET', path: '/v1/x', now })
 * // windows: minute (100), day (1000)
 */
export function resolvePolicy(input: PolicyInput): ResolvedPolicy {
  const { policy, tier, customer, now } = input;
  const base = customer?.unlimited ? [] : (customer?.limits ?? policy.tiers[tier]);
  const override = activeOverride(customer?.overrides, now);
  const limits = override ? mergeLimits(base, override.limits) : base;
  const windows: ResolvedWindow[] = limitsOf(limits);
  const leaseMs = input.slotLeaseMs ?? DEFAULT_SLOT_LEASE_MS;
  const concurrency = customer?.concurrency ?? policy.concurrency?.[tier];
  if (concurrency !== undefined) windows.push(concurrencyWindow(concurrency, leaseMs));

  let cost = 1;
  const methods = new Set(
    [input.method, ...(input.overrideMethods ?? [])].map((m) => m.toUpperCase()),
  );
  for (const rule of endpointRules(policy, tier, customer)) {
    if (rule.method !== '*' && !methods.has(rule.method)) continue;
    const caseSensitive = rule.caseSensitive === true;
    if (!matchPath(rule.path, input.path, { caseSensitive })) continue;
    // A shadow rule's cost is not charged: it reports, it never changes what a request costs.
    if (rule.cost !== undefined && !rule.shadow) cost = Math.max(cost, rule.cost);
    for (const w of limitsOf(rule.limits, rule.id)) {
      windows.push({ ...w, rule: rule.id, ...(rule.shadow ? { shadow: true } : {}) });
    }
    // A shadow rule never holds a slot: it could only ever report on itself.
    if (rule.concurrency !== undefined && !rule.shadow) {
      windows.push(concurrencyWindow(rule.concurrency, leaseMs, rule.id));
    }
  }
  const throttle = customer?.throttle ?? policy.throttle;
  const consistency =
    customer?.consistency ?? policy.consistency?.[tier] ?? input.defaultConsistency;
  return {
    tier,
    windows,
    cost,
    failMode: customer?.failMode ?? 'open',
    ...(override ? { override } : {}),
    ...(throttle ? { throttle } : {}),
    ...(consistency === 'fast' ? { consistency } : {}),
    ...(customer?.unlimited ? { unlimited: true } : {}),
  };
}

/** The override in force at `now`: the one ending last when several overlap. */
export function activeOverride(overrides: readonly Override[] | undefined, now: number) {
  let best: Override | undefined;
  for (const o of overrides ?? []) {
    const end = Date.parse(o.expiresAt);
    if (end > now && (!best || end > Date.parse(best.expiresAt))) best = o;
  }
  return best;
}

function mergeLimits(base: readonly Limit[], raised: readonly Limit[]): Limit[] {
  // The same window of the same unit is replaced; a tokens window never replaces a requests one.
  const byWindow = new Map(base.map((l) => [`${l.window}|${l.unit ?? ''}`, l]));
  for (const l of raised) byWindow.set(`${l.window}|${l.unit ?? ''}`, l);
  return [...byWindow.values()];
}

function endpointRules(
  policy: PolicyConfig,
  tier: Tier | 'anonymous',
  customer: CustomerRecord | undefined,
): EndpointRule[] {
  const rules = new Map<string, EndpointRule>();
  for (const r of policy.endpoints) {
    const limits = r.limits[tier] ?? [];
    const concurrency = r.concurrency?.[tier];
    if (limits.length || concurrency !== undefined) {
      rules.set(r.id, {
        id: r.id,
        method: r.method,
        path: r.path,
        limits,
        ...(r.shadow ? { shadow: true } : {}),
        ...(r.caseSensitive ? { caseSensitive: true } : {}),
        ...(concurrency !== undefined ? { concurrency } : {}),
        ...(r.cost !== undefined ? { cost: r.cost } : {}),
      });
    }
  }
  for (const r of customer?.endpoints ?? []) rules.set(r.id, r);
  return [...rules.values()];
}
