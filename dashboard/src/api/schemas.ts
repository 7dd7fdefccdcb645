/** Schemas of the usage API's responses (docs: the usage API contract); every response is parsed. */
import { z } from 'zod';

const isoTime = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO time');
const count = z.number().finite().nonnegative();

const limitSpec = z.object({ limit: z.number(), window: z.string() });

/** GET /_edgelimit/rate_limit */
export const rateLimitSchema = z.object({
  // null for callers without a customer (anonymous); the dashboard always signs in with a key.
  customerId: z.string().nullable(),
  tier: z.string(),
  windows: z.array(
    z.object({
      id: z.string(),
      limit: count,
      remaining: count,
      window: z.string(),
      windowMs: count,
      resetAt: isoTime,
      rule: z.string().nullable().optional(),
      // A shadow window is measured but not enforced (a limit being trialled).
      shadow: z.boolean().optional(),
    }),
  ),
  override: z
    .object({
      limits: z.array(limitSpec),
      expiresAt: isoTime,
      reason: z.string().optional(),
    })
    .nullable()
    .optional(),
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
      window: z.string().nullable().optional(),
    }),
  ),
  source: z.string().optional(),
});
export type Usage = z.infer<typeof usageSchema>;

const counters = {
  checks: count,
  allowed: count,
  rejected: count,
  bypassed: count,
  failedOpen: count.default(0),
  failedClosed: count.default(0),
  storeErrors: count.default(0),
};
const latency = z.number().finite().nonnegative().nullable().optional();

/** GET /_edgelimit/admin/metrics */
export const metricsSchema = z.object({
  range: z.unknown().optional(),
  resolution: z.string().optional(),
  series: z.array(
    z.object({ t: isoTime, ...counters, latencyP50Ms: latency, latencyP99Ms: latency }),
  ),
  totals: z.object({ ...counters, latencyP50Ms: latency, latencyP99Ms: latency }),
  topLimited: z.array(z.object({ customerId: z.string(), rejected: count, allowed: count })),
  breaker: z.object({
    state: z.enum(['closed', 'open', 'half-open']),
    since: isoTime.nullable().optional(),
  }),
  recentAlerts: z.array(
    z.object({
      time: isoTime,
      kind: z.string(),
      customerId: z.string().nullable().optional(),
      message: z.string(),
    }),
  ),
});
export type Metrics = z.infer<typeof metricsSchema>;
export type MetricsPoint = Metrics['series'][number];

/** An RFC 9457 problem body, as far as the dashboard uses it. */
export const problemSchema = z.object({
  title: z.string().optional(),
  detail: z.string().optional(),
  status: z.number().optional(),
});

/** POST /_edgelimit/usage/increase-request */
export const increaseAcceptedSchema = z.object({ received: z.literal(true) });

/** What a customer can ask for in an increase request. */
export interface IncreaseRequest {
  readonly reason: string;
  readonly limits?: readonly { limit: number; window: string }[];
  readonly until?: string;
}
