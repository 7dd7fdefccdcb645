/**
 * The usage API's response shapes (docs/usage-api.md), written once: the routes type their
 * answers with them, the dashboard parses every response with them, the tests parse with them.
 * zod/mini, so the dashboard bundle stays small; nothing here may import worker code.
 */
import * as z from 'zod/mini';

const isoTime = z
  .string()
  .check(z.refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO time'));
const count = z.number().check(z.nonnegative());
/** Counters an older worker may not send yet; absent means none. */
const optionalCount = z._default(count, 0);
const latency = z.optional(z.nullable(z.number().check(z.nonnegative())));

const limitSpec = z.object({ limit: z.number(), window: z.string() });

/** GET /_edgelimit/rate_limit */
export const rateLimitSchema = z.object({
  // null for callers without a customer (anonymous); the dashboard always signs in with a key.
  customerId: z.nullable(z.string()),
  tier: z.string(),
  windows: z.array(
    z.object({
      id: z.string(),
      limit: count,
      remaining: count,
      window: z.string(),
      windowMs: count,
      resetAt: isoTime,
      // Older workers send neither: the card then falls back to resetAt and one window from now.
      nextAllowedAt: z.optional(isoTime),
      fullAt: z.optional(isoTime),
      rule: z.optional(z.nullable(z.string())),
      method: z.optional(z.nullable(z.string())),
      path: z.optional(z.nullable(z.string())),
      // A shadow window is measured but not enforced (a limit being trialled).
      shadow: z.optional(z.boolean()),
    }),
  ),
  /** The customer record says `"unlimited": true`: no tier or customer windows. */
  unlimited: z.optional(z.boolean()),
  /** Present (false) for internal services, which are never limited. */
  limited: z.optional(z.boolean()),
  override: z.optional(
    z.nullable(
      z.object({
        limits: z.array(limitSpec),
        expiresAt: isoTime,
        reason: z.optional(z.string()),
      }),
    ),
  ),
});
export type RateLimitStatus = z.infer<typeof rateLimitSchema>;
export type LimitWindow = RateLimitStatus['windows'][number];

/** GET /_edgelimit/usage */
export const usageSchema = z.object({
  customerId: z.string(),
  tier: z.string(),
  range: z.object({ from: isoTime, to: isoTime }),
  resolution: z.string(),
  series: z.array(z.object({ t: isoTime, allowed: count, rejected: count })),
  byRule: z.array(z.object({ rule: z.string(), allowed: count, rejected: count })),
  totals: z.object({ allowed: count, rejected: count }),
  recentRejections: z.array(
    z.object({
      time: isoTime,
      method: z.string(),
      path: z.string(),
      window: z.optional(z.nullable(z.string())),
    }),
  ),
  rejectionGroups: z.optional(
    z.array(
      z.object({
        method: z.string(),
        path: z.string(),
        window: z.string(),
        count,
        first: isoTime,
        last: isoTime,
      }),
    ),
  ),
  source: z.optional(z.string()),
});
export type Usage = z.infer<typeof usageSchema>;

const counters = {
  checks: count,
  allowed: count,
  rejected: count,
  bypassed: count,
  unauthenticated: optionalCount,
  failedOpen: optionalCount,
  failedClosed: optionalCount,
  storeErrors: optionalCount,
  latencyP50Ms: latency,
  latencyP99Ms: latency,
};

/** GET /_edgelimit/admin/metrics */
export const metricsSchema = z.object({
  range: z.optional(z.string()),
  resolution: z.optional(z.string()),
  from: z.optional(isoTime),
  to: z.optional(isoTime),
  series: z.array(z.object({ t: isoTime, ...counters })),
  totals: z.object(counters),
  topLimited: z.array(z.object({ customerId: z.string(), rejected: count, allowed: count })),
  breaker: z.object({
    state: z.enum(['closed', 'open', 'half-open']),
    since: z.optional(z.nullable(isoTime)),
  }),
  /** Failed write-behind batches in the span (hybrid mode); absent from older workers. */
  writeBehind: z.optional(
    z.object({
      failures: count,
      lastAt: z.nullable(isoTime),
      lastError: z.nullable(z.string()),
    }),
  ),
  recentAlerts: z.array(
    z.object({
      time: isoTime,
      kind: z.string(),
      customerId: z.optional(z.nullable(z.string())),
      message: z.string(),
      severity: z.optional(z.string()),
    }),
  ),
  source: z.optional(z.string()),
});
export type Metrics = z.infer<typeof metricsSchema>;
export type MetricsPoint = Metrics['series'][number];
