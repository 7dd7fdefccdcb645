/** The `range` and `resolution` query of the usage and metrics APIs, and their ISO times. */
import { z } from 'zod';
import { log } from '../telemetry/log';
import {
  MAX_POINTS,
  pointsOf,
  RANGES,
  type RangeName,
  RESOLUTIONS,
  type Resolution,
  UsageSourceError,
} from '../telemetry/usage-source';
import { fail, problems } from './problem';

const RANGE_NAMES = Object.keys(RANGES) as [RangeName, ...RangeName[]];
const RESOLUTION_NAMES = Object.keys(RESOLUTIONS) as [Resolution, ...Resolution[]];

/** The resolution used when a query names none: the finest that stays readable. */
export const DEFAULT_RESOLUTION: Record<RangeName, Resolution> = {
  '1h': 'minute',
  '24h': 'hour',
  '7d': 'hour',
  '30d': 'day',
};

/**
 * Builds a schema for `range` and `resolution` query parameters: unknown values and more than
 * {@link MAX_POINTS} points are refused, naming the parameter.
 */
export function spanQuerySchema(
  ranges: readonly RangeName[] = RANGE_NAMES,
  defaultRange: RangeName = '24h',
) {
  return z
    .object({
      // An enum of exactly the allowed ranges, so the OpenAPI document lists no others.
      range: z
        .enum(RANGE_NAMES.filter((r) => ranges.includes(r)) as [RangeName, ...RangeName[]], {
          error: `must be one of ${ranges.join(', ')}`,
        })
        .default(defaultRange),
      resolution: z.enum(RESOLUTION_NAMES).optional(),
    })
    .transform((q) => ({ range: q.range, resolution: q.resolution ?? DEFAULT_RESOLUTION[q.range] }))
    .refine((q) => pointsOf(q.range, q.resolution) <= MAX_POINTS, {
      path: ['resolution'],
      message: `too fine for the range: at most ${MAX_POINTS} points`,
    });
}

/** The usage source failed: logged, then thrown as a 502. */
export function failUsageSource(source: string, error: unknown): never {
  const message = error instanceof UsageSourceError ? error.message : String(error);
  log('internal-error', { where: 'usage-source', source, message }, 'error');
  return fail(problems.usageUnavailable(source));
}

/** ISO 8601 of epoch ms. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
