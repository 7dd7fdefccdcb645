/**
 * The Analytics Engine data point written for every decision: the positional schema documented in
 * docs/metrics.md, within the documented limits (20 blobs, 16 KB of blobs, 20 doubles, one index
 * of at most 96 bytes). Pure: the caller passes the already hashed client address.
 */
import { blockingWindow } from '../limiter/blocking-window';
import type { DecisionEvent } from './telemetry';

/** Blob positions (1-based in SQL: `blob1`...). */
export const BLOB = {
  subject: 1,
  tier: 2,
  rule: 3,
  outcome: 4,
  method: 5,
  path: 6,
  window: 7,
  store: 8,
  storeError: 9,
  callerKind: 10,
} as const;

/** Double positions (1-based in SQL: `double1`...). */
export const DOUBLE = {
  count: 1,
  storeLatencyMs: 2,
  remaining: 3,
  status: 4,
  limit: 5,
  windowMs: 6,
  retryAfterS: 7,
  storeError: 8,
  shadowWouldReject: 9,
} as const;

/** Longest index Analytics Engine accepts, in bytes. */
export const MAX_INDEX_BYTES = 96;
/** Longest path we keep: bounds the blobs well under 16 KB and keeps queries cheap. */
export const MAX_PATH_CHARS = 256;

/** Who a decision was about, as metrics may name them: ids and hashes, never keys or addresses. */
export function subjectOf(event: DecisionEvent, ipHash: string): string {
  const caller = event.caller;
  if (!caller) return `unauth:${ipHash}`;
  switch (caller.kind) {
    case 'customer':
      return caller.customerId;
    case 'service':
      return `svc:${caller.service}`;
    case 'anonymous':
      return `anon:${ipHash}`;
  }
}

/**
 * The outcome metrics record: the decision's, except that a request whose credentials failed is
 * `unauthenticated` (its failed-attempts check passing does not make it a passed request).
 */
export function outcomeOf(event: DecisionEvent): MetricOutcome {
  return event.caller ? event.decision.outcome : 'unauthenticated';
}

/** Outcomes as metrics record them. */
export type MetricOutcome = DecisionEvent['decision']['outcome'] | 'unauthenticated';

/** The endpoint rule a request fell under: the first rule window that applied, else `default`. */
export function ruleOf(event: DecisionEvent): string {
  const d = event.decision;
  return d.windows.find((w) => w.rule)?.rule ?? d.shadow.find((w) => w.rule)?.rule ?? 'default';
}

/** Id of the window that rejected (or would block first), `''` when none applies. */
export function windowOf(event: DecisionEvent): string {
  return blockingWindow(event.decision)?.id ?? '';
}

/**
 * Builds the data point for one decision.
 * @example env.METRICS.writeDataPoint(toDataPoint(event, await ipHash(caller.ip)))
 */
export function toDataPoint(event: DecisionEvent, ipHash: string): AnalyticsEngineDataPoint {
  const { decision } = event;
  const subject = subjectOf(event, ipHash);
  const top = blockingWindow(decision);
  const retryAfter =
    decision.retryAt !== undefined
      ? Math.max(0, Math.ceil((decision.retryAt - decision.now) / 1000))
      : 0;
  const blobs: string[] = [];
  blobs[BLOB.subject - 1] = subject;
  blobs[BLOB.tier - 1] = event.tier;
  blobs[BLOB.rule - 1] = ruleOf(event);
  blobs[BLOB.outcome - 1] = outcomeOf(event);
  blobs[BLOB.method - 1] = event.method.slice(0, 16);
  blobs[BLOB.path - 1] = event.path.slice(0, MAX_PATH_CHARS);
  blobs[BLOB.window - 1] = top?.id ?? '';
  blobs[BLOB.store - 1] = decision.store;
  blobs[BLOB.storeError - 1] = decision.error?.reason ?? '';
  blobs[BLOB.callerKind - 1] = event.caller?.kind ?? 'unauthenticated';
  const doubles: number[] = [];
  doubles[DOUBLE.count - 1] = 1;
  doubles[DOUBLE.storeLatencyMs - 1] = decision.storeLatencyMs;
  doubles[DOUBLE.remaining - 1] = top ? top.remaining : -1;
  doubles[DOUBLE.status - 1] = event.status;
  doubles[DOUBLE.limit - 1] = top ? top.limit : -1;
  doubles[DOUBLE.windowMs - 1] = top ? top.windowMs : -1;
  doubles[DOUBLE.retryAfterS - 1] = retryAfter;
  doubles[DOUBLE.storeError - 1] = decision.error ? 1 : 0;
  // Shadow rules never reject; this is how operators see what they would have done.
  doubles[DOUBLE.shadowWouldReject - 1] = decision.shadow.filter((w) => w.wouldReject).length;
  return { indexes: [truncateUtf8(subject, MAX_INDEX_BYTES)], blobs, doubles };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Cuts `text` to at most `bytes` UTF-8 bytes without splitting a character. */
export function truncateUtf8(text: string, bytes: number): string {
  // A UTF-16 code unit is at most 3 UTF-8 bytes: short text fits without encoding it.
  if (text.length * 3 <= bytes) return text;
  const encoded = encoder.encode(text);
  if (encoded.length <= bytes) return text;
  // A cut inside a multi-byte character decodes to U+FFFD; drop that tail instead.
  return decoder.decode(encoded.slice(0, bytes)).replace(/\uFFFD+$/, '');
}
