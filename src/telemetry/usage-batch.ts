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

/**
 * A customer's load in one minute, where it differs from a request count: units consumed beyond
 * one per allowed request (weighted requests: units = allowed + extra), units the origin charged,
 * and the most requests in flight at once against their concurrency limit.
 */
export interface LoadRow {
  t: number;
  customer: string;
  extra: number;
  charged: number;
  /** Most requests seen in flight at once (0 without a concurrency limit). */
  peak: number;
  /** The customer's concurrency limit (0 = none). */
  limit: number;
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
  /** Optional: batches from an older worker carry none. */
  load?: LoadRow[];
  fleet: FleetRow[];
  rejections: RejectionRow[];
  alerts: AlertCandidate[];
}

/**
 * Rejections kept per batch. The usage API's recent rejections show 20 per customer, but its
 * grouped rejections count every row, so a batch keeps as many as it may hold decisions
 * (`MAX_BATCH_EVENTS` of create-telemetry.ts): a full batch drops none.
 */
export const MAX_REJECTIONS_PER_BATCH = 1_000;

/** An empty batch. */
export function emptyBatch(): UsageBatch {
  return { usage: [], load: [], fleet: [], rejections: [], alerts: [] };
}

/** True when the batch carries nothing. */
export function isEmpty(batch: UsageBatch): boolean {
  return (
    batch.usage.length === 0 &&
    (batch.load?.length ?? 0) === 0 &&
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
  addLoad(batch, t, caller.customerId, event, refused);
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

/** Folds one customer decision into the minute's load row (units, charges, peak in flight). */
function addLoad(
  batch: UsageBatch,
  t: number,
  customer: string,
  event: DecisionEvent,
  refused: boolean,
): void {
  const slots = event.decision.windows.find((w) => w.kind === 'concurrency' && !w.rule);
  const extra = refused ? 0 : (event.decision.cost ?? 1) - 1;
  const charged = event.charged ?? 0;
  // One request, one unit, no slots: the usage rows already say all of it.
  if (!slots && extra === 0 && charged === 0) return;
  batch.load ??= [];
  let row = batch.load.find((r) => r.t === t && r.customer === customer);
  if (!row) {
    row = { t, customer, extra: 0, charged: 0, peak: 0, limit: 0 };
    batch.load.push(row);
  }
  row.extra += extra;
  row.charged += charged;
  if (slots) {
    row.peak = Math.max(row.peak, slots.used);
    row.limit = slots.limit;
  }
}
