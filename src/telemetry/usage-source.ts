/** The read side of usage: one interface, answered by the embedded Durable Object or Analytics Engine. */
import { ZERO_FLEET_COUNTS } from './usage-batch';

/** Time ranges the usage API accepts, in ms. */
export const RANGES = {
  '1h': 3_600_000,
  '24h': 86_400_000,
  '7d': 7 * 86_400_000,
  '30d': 30 * 86_400_000,
} as const;
export type RangeName = keyof typeof RANGES;

/** Bucket widths the usage API accepts, in ms. */
export const RESOLUTIONS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;
export type Resolution = keyof typeof RESOLUTIONS;

/** Most buckets one series may have (24 h of minutes). */
export const MAX_POINTS = 1440;

/** A query's time span: aligned buckets, oldest first; `to` is the instant of the query. */
export interface Span {
  readonly from: number;
  readonly to: number;
  readonly resolution: Resolution;
  /** Start of every bucket in the span, epoch ms, oldest first. */
  readonly buckets: readonly number[];
}

/** Allowed and rejected counts (allowed = passed, failed-open included; rejected = 429 and 503). */
export interface Counts {
  readonly allowed: number;
  readonly rejected: number;
}

/** One customer's usage over a span. */
export interface CustomerUsage {
  readonly series: readonly (Counts & { readonly t: number })[];
  readonly byRule: readonly (Counts & { readonly rule: string })[];
  readonly totals: Counts;
  /** Newest first, at most 20. */
  readonly recentRejections: readonly RejectionRecord[];
  /**
   * Rejections in the span grouped by request and window, most recently seen first, at most 10:
   * a flood of identical 429s is one row with its count.
   */
  readonly rejectionGroups: readonly RejectionGroup[];
}

/** Identical rejections: how many, first and last seen (epoch ms). */
export interface RejectionGroup {
  readonly method: string;
  readonly path: string;
  readonly window: string;
  readonly count: number;
  readonly first: number;
  readonly last: number;
}

/** One rejected request, as the customer may see it. */
export interface RejectionRecord {
  readonly time: number;
  readonly method: string;
  readonly path: string;
  /** Id of the window that rejected it, e.g. `minute` or `search:minute`. */
  readonly window: string;
}

/** Fleet-wide counters of one bucket (or a whole span). */
export interface FleetCounters {
  readonly checks: number;
  readonly allowed: number;
  readonly rejected: number;
  readonly bypassed: number;
  readonly unauthenticated: number;
  readonly failedOpen: number;
  readonly failedClosed: number;
  readonly storeErrors: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
}

/** Fleet health over a span. */
export interface FleetMetrics {
  readonly series: readonly (FleetCounters & { readonly t: number })[];
  readonly totals: FleetCounters;
  /** Customers with the most rejections in the span, most first, at most 10. */
  readonly topLimited: readonly {
    readonly customerId: string;
    readonly rejected: number;
    readonly allowed: number;
  }[];
}

/** Where usage history is read from. */
export interface UsageSource {
  readonly name: 'embedded' | 'analytics-engine';
  customerUsage(customerId: string, span: Span): Promise<CustomerUsage>;
  fleetMetrics(span: Span): Promise<FleetMetrics>;
}

/** A usage source could not answer (the HTTP edge turns it into a 502). */
export class UsageSourceError extends Error {
  override readonly name = 'UsageSourceError';
}

/**
 * The span of `range` at `resolution` ending at `now`: the last bucket is the one holding `now`,
 * so a 1 h range at minute resolution has 60 buckets and `from` is aligned to a minute.
 * @example spanOf('1h', 'minute', Date.now()).buckets.length // 60
 */
export function spanOf(range: RangeName, resolution: Resolution, now: number): Span {
  const width = RESOLUTIONS[resolution];
  const count = Math.max(1, Math.ceil(RANGES[range] / width));
  const last = Math.floor(now / width) * width;
  const buckets = Array.from({ length: count }, (_, i) => last - (count - 1 - i) * width);
  return { from: buckets[0] ?? last, to: now, resolution, buckets };
}

/** How many points a range has at a resolution (the API refuses more than {@link MAX_POINTS}). */
export function pointsOf(range: RangeName, resolution: Resolution): number {
  return Math.ceil(RANGES[range] / RESOLUTIONS[resolution]);
}

/** Zero counters, for empty buckets. */
export const ZERO_FLEET: FleetCounters = { ...ZERO_FLEET_COUNTS, latencyP50Ms: 0, latencyP99Ms: 0 };

/**
 * Lays `rows` on the span's buckets: every bucket present, zeros where no row fell, oldest first.
 * Rows are matched to the bucket that contains their `t`.
 */
export function fillSeries<T extends object>(
  span: Span,
  rows: readonly (T & { readonly t: number })[],
  zero: T,
  merge: (a: T, b: T) => T,
): (T & { t: number })[] {
  const width = RESOLUTIONS[span.resolution];
  const byBucket = new Map<number, T>();
  for (const row of rows) {
    const b = Math.floor(row.t / width) * width;
    const { t: _t, ...rest } = row;
    const value = rest as unknown as T;
    const existing = byBucket.get(b);
    byBucket.set(b, existing ? merge(existing, value) : value);
  }
  return span.buckets.map((t) => ({ ...(byBucket.get(t) ?? zero), t }));
}
