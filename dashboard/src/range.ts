/** History ranges and resolutions the usage API accepts, and which combinations make sense. */

export type UsageRange = '1h' | '24h' | '7d' | '30d';
export type Resolution = 'minute' | 'hour' | 'day';

/** Ranges offered to customers (the usage API) and to operators (the metrics API). */
export const USAGE_RANGES: readonly UsageRange[] = ['1h', '24h', '7d', '30d'];
export const METRICS_RANGES: readonly UsageRange[] = ['1h', '24h', '7d', '30d'];
export const RESOLUTIONS: readonly Resolution[] = ['minute', 'hour', 'day'];

const RANGE_MS: Record<UsageRange, number> = {
  '1h': 3_600_000,
  '24h': 86_400_000,
  '7d': 7 * 86_400_000,
  '30d': 30 * 86_400_000,
};
const RESOLUTION_MS: Record<Resolution, number> = {
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
};

/** Length of one interval of a resolution, ms. */
export function resolutionMs(resolution: Resolution): number {
  return RESOLUTION_MS[resolution];
}

/**
 * What a range is counted per when it is picked: 60 minutes, 24 hours, 7 × 24 hours, 30 days;
 * few enough bars to read, fine enough to see a burst.
 */
export const DEFAULT_RESOLUTIONS: Record<UsageRange, Resolution> = {
  '1h': 'minute',
  '24h': 'hour',
  '7d': 'hour',
  '30d': 'day',
};

/** The API refuses more points than this (the contract: minute over 30 days is refused). */
export const MAX_POINTS = 1440;

/** Labels for the pickers. */
export const RANGE_LABELS: Record<UsageRange, string> = {
  '1h': 'hour',
  '24h': '24 hours',
  '7d': '7 days',
  '30d': '30 days',
};
export const RESOLUTION_LABELS: Record<Resolution, string> = {
  minute: 'minute',
  hour: 'hour',
  day: 'day',
};

/**
 * Number of buckets a range has at a resolution (rounded up).
 * @example pointCount('24h', 'minute') // 1440
 */
export function pointCount(range: UsageRange, resolution: Resolution): number {
  return Math.ceil(RANGE_MS[range] / RESOLUTION_MS[resolution]);
}

/**
 * Whether a combination is worth asking for: at most {@link MAX_POINTS} buckets and at least two,
 * so a chart has a line to draw.
 * @example isUsefulCombination('30d', 'minute') // false
 */
export function isUsefulCombination(range: UsageRange, resolution: Resolution): boolean {
  const points = pointCount(range, resolution);
  return points >= 2 && points <= MAX_POINTS;
}

/** Narrows a string (say, from the URL) to a range. */
export function isUsageRange(value: unknown): value is UsageRange {
  return typeof value === 'string' && value in RANGE_MS;
}

/** Narrows a string to a resolution. */
export function isResolution(value: unknown): value is Resolution {
  return typeof value === 'string' && value in RESOLUTION_MS;
}
