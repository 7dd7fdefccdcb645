/**
 * Folds decisions into one small batch per flush (per-minute counters, recent rejections, alert
 * candidates), so the usage Durable Object gets one RPC per flush instead of one per request. Pure.
 */
import type { AlertCandidate } from './alerts';
import { outcomeOf, ruleOf, windowOf } from './data-point';
import { type Histogram, observe } from './latency-histogram';
import type { DecisionEvent } from './telemetry';

/** Per-customer counts of one minute and endpoint rule. */
export interface UsageRow {
  /** Minute start, epoch ms. */
  t: number;
  customer: string;
  rule: string;
  allowed: number;
  rejected: number;
}

/** Fleet counts of one minute. */
export interface FleetRow {
  t: number;
  checks: number;
  allowed: number;
  rejected: number;
  bypassed: number;
  /** Requests whose credentials failed (401, or 429 from the failed-attempts window). */
  unauthenticated: number;
  failedOpen: number;
  failedClosed: number;
  storeErrors: number;
  latency: Histogram;
}

/** Every fleet counter at zero (latency is kept apart, as a histogram or as percentiles). */
export const ZERO_FLEET_COUNTS = {
  checks: 0,
  allowed: 0,
  rejected: 0,
  bypassed: 0,
  unauthenticated: 0,
  failedOpen: 0,
  failedClosed: 0,
  storeErrors: 0,
} as const;

/** A fleet row with nothing counted yet. */
export function emptyFleetRow(t: number): FleetRow {
  return { t, ...ZERO_FLEET_COUNTS, latency: {} };
}

/** A rejection a customer can see in their usage. */
export interface RejectionRow {
  time: number;
  customer: string;
  method: string;
  path: string;
  window: string;
}

/** What one flush sends to the usage object. */
export interface UsageBatch {
  usage: UsageRow[];
  fleet: FleetRow[];
  rejections: RejectionRow[];
  alerts: AlertCandidate[];
}

/** Rejections kept per batch: the usage API shows 20 per customer, a flood adds nothing. */
export const MAX_REJECTIONS_PER_BATCH = 100;

/** An empty batch. */
export function emptyBatch(): UsageBatch {
  return { usage: [], fleet: [], rejections: [], alerts: [] };
}

/** True when the batch carries nothing. */
export function isEmpty(batch: UsageBatch): boolean {
  return (
    batch.usage.length === 0 &&
    batch.fleet.length === 0 &&
    batch.rejections.length === 0 &&
    batch.alerts.length === 0
  );
}

/** Minute start of an epoch ms time. */
export function minuteOf(ms: number): number {
  return Math.floor(ms / 60_000) * 60_000;
}

/**
 * Adds one decision to `batch` (mutated). Customers get per-minute, per-rule rows; every decision
 * counts in the fleet row. Passed requests (allowed, failed-open) count as allowed, refused ones
 * (rejected, failed-closed) as rejected; bypassed internal traffic and failed identifications
 * (unauthenticated) are fleet-only and counted apart.
 */
export function addDecision(batch: UsageBatch, event: DecisionEvent): void {
  const { decision, caller } = event;
  const t = minuteOf(decision.now);
  let fleet = batch.fleet.find((r) => r.t === t);
  if (!fleet) {
    fleet = emptyFleetRow(t);
    batch.fleet.push(fleet);
  }
  fleet.checks++;
  switch (outcomeOf(event)) {
    case 'allowed':
      fleet.allowed++;
      break;
    case 'rejected':
      fleet.rejected++;
      break;
    case 'bypassed':
      fleet.bypassed++;
      break;
    case 'unauthenticated':
      fleet.unauthenticated++;
      break;
    case 'failed-open':
      fleet.failedOpen++;
      break;
    case 'failed-closed':
      fleet.failedClosed++;
      break;
  }
  if (decision.error) fleet.storeErrors++;
  // Bypasses never touch a store; counting their zero would flatter the latency percentiles.
  if (decision.outcome !== 'bypassed') observe(fleet.latency, decision.storeLatencyMs);

  if (caller?.kind !== 'customer') return;
  const rule = ruleOf(event);
  let row = batch.usage.find(
    (r) => r.t === t && r.customer === caller.customerId && r.rule === rule,
  );
  if (!row) {
    row = { t, customer: caller.customerId, rule, allowed: 0, rejected: 0 };
    batch.usage.push(row);
  }
  const refused = decision.outcome === 'rejected' || decision.outcome === 'failed-closed';
  if (refused) row.rejected++;
  else row.allowed++;
  if (decision.outcome === 'rejected') {
    batch.rejections.push({
      time: decision.now,
      customer: caller.customerId,
      method: event.method,
      path: event.path.slice(0, 256),
      window: windowOf(event),
    });
    if (batch.rejections.length > MAX_REJECTIONS_PER_BATCH) batch.rejections.shift();
  }
}
