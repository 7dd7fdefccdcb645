/** Schemas of the records kept in the CONFIG KV namespace; validated on every read. */
import { z } from 'zod';
import { limitListSchema } from './limit-spec';

/** Tiers a customer can be on. */
export const TIERS = ['free', 'pro', 'enterprise'] as const;
export type Tier = (typeof TIERS)[number];

/** Customer ids: safe in KV keys, Redis hash tags and URLs. */
export const customerIdSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/,
    'must be 1-64 of A-Z a-z 0-9 _ . - (not starting with _ . -)',
  );

/** Upper bound of `throttle.maxDelayMs`. */
export const MAX_THROTTLE_DELAY_MS = 2_000;

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', '*'] as const;

/** An endpoint rule: stricter limits for a method and path pattern. */
export const endpointRuleSchema = z.strictObject({
  /** Short id, used in window ids, headers and metrics. */
  id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'must be 1-32 of a-z 0-9 _ - '),
  method: z.enum(METHODS),
  /** `/v1/search`, `/v1/items/:id`, `/v1/*` (one segment) or `/v1/**` (the rest). */
  path: z.string().regex(/^\/[^\s?#]*$/, 'must start with / and have no query or spaces'),
  limits: limitListSchema,
  /** Evaluate and report, never reject (try a rule on real traffic first). */
  shadow: z.boolean().optional(),
  /** Match the path case-sensitively; default false (see policy/normalize-path.ts). */
  caseSensitive: z.boolean().optional(),
});
export type EndpointRule = z.infer<typeof endpointRuleSchema>;

/** A temporary increase: replaces the customer's limits until `expiresAt`. */
export const overrideSchema = z.strictObject({
  limits: limitListSchema,
  expiresAt: z.iso.datetime({ offset: true }),
  reason: z.string().min(1).max(500),
  createdAt: z.iso.datetime({ offset: true }).optional(),
});
export type Override = z.infer<typeof overrideSchema>;

/**
 * Graduated throttling (off unless configured): past `softAt` of a window's limit, allowed
 * responses carry `X-Edgelimit-Warning` and wait up to `maxDelayMs`, growing with usage.
 */
export const throttleSchema = z.strictObject({
  /** Fraction of a window's limit from which responses are warned and slowed, e.g. 0.8. */
  softAt: z.number().gt(0).lt(1),
  /** Delay at the hard limit, ms; 0 warns without slowing. Bounded so a worker never stalls. */
  maxDelayMs: z.number().int().min(0).max(MAX_THROTTLE_DELAY_MS),
});
export type ThrottleConfig = z.infer<typeof throttleSchema>;

/** `customer:<id>` in KV. */
export const customerRecordSchema = z.strictObject({
  tier: z.enum(TIERS),
  /** Replaces the tier's limits (required in spirit for enterprise; tier defaults otherwise). */
  limits: limitListSchema.optional(),
  /**
   * No tier or customer limit at all, said explicitly (endpoint rules and overrides still
   * apply). Cannot be combined with `limits`.
   */
  unlimited: z.literal(true).optional(),
  /** Endpoint rules for this customer, added to (and for the same id, replacing) the global ones. */
  endpoints: z.array(endpointRuleSchema).max(32).optional(),
  overrides: z.array(overrideSchema).max(16).optional(),
  /** What to do when the counter store fails: default open. */
  failMode: z.enum(['open', 'closed']).optional(),
  /** Replaces the policy's `throttle` for this customer. */
  throttle: throttleSchema.optional(),
  /**
   * `exact` (default): every decision in the per-identity Durable Object. `fast`: decide in the
   * isolate from a short lease of units granted by the object (see store/lease-store.ts).
   */
  consistency: z.enum(['exact', 'fast']).optional(),
  updatedAt: z.iso.datetime({ offset: true }).optional(),
});
export type CustomerRecord = z.infer<typeof customerRecordSchema>;

/** `key:<sha256 hex of the API key>` in KV. The key itself is never stored. */
export const apiKeyRecordSchema = z.strictObject({
  customerId: customerIdSchema,
  createdAt: z.iso.datetime({ offset: true }),
  revoked: z.boolean().optional(),
  /** First characters of the key, so people can tell their keys apart. */
  prefix: z.string().max(16).optional(),
});
export type ApiKeyRecord = z.infer<typeof apiKeyRecordSchema>;

/** Tier defaults and global endpoint rules; `config:policy` in KV overrides the built-in one. */
export const policyConfigSchema = z.strictObject({
  tiers: z.strictObject({
    free: limitListSchema,
    pro: limitListSchema,
    enterprise: limitListSchema,
    anonymous: limitListSchema,
  }),
  /** Endpoint rules by tier (`anonymous` included). */
  endpoints: z.array(
    z.strictObject({
      id: endpointRuleSchema.shape.id,
      method: endpointRuleSchema.shape.method,
      path: endpointRuleSchema.shape.path,
      limits: z.partialRecord(z.enum([...TIERS, 'anonymous']), limitListSchema),
      shadow: z.boolean().optional(),
      caseSensitive: z.boolean().optional(),
    }),
  ),
  /** Failed API key lookups allowed per client IP before answering 429 instead of 401. */
  keyGuessLimit: limitListSchema,
  /**
   * Calls to the worker's own read endpoints (`/usage`, `/rate_limit`) per caller (customer, or
   * client address), apart from API traffic; default 60 per minute.
   */
  reservedLimit: limitListSchema.optional(),
  /**
   * CORS preflights (`OPTIONS` with `Access-Control-Request-Method`) per client address, counted
   * apart from the caller's own windows; default 300 per minute.
   */
  preflightLimit: limitListSchema.optional(),
  /** Graduated throttling for every customer without their own; absent = off. */
  throttle: throttleSchema.optional(),
  /** Consistency per tier (`exact` where absent); a customer record's own setting wins. */
  consistency: z
    .partialRecord(z.enum([...TIERS, 'anonymous']), z.enum(['exact', 'fast']))
    .optional(),
});
export type PolicyConfig = z.infer<typeof policyConfigSchema>;

/** Formats a zod error as `field.path: message; ...` naming every bad field. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}
