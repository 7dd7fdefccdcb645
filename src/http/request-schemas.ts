/**
 * What the reserved routes accept: their bodies and queries as zod schemas, in one place so the
 * routes validate with them and `routes/openapi.ts` documents them without importing a route.
 */
import { z } from 'zod';
import { limitListSchema } from '../policy/limit-spec';
import { customerIdSchema, customerRecordSchema, TIERS } from '../policy/records';
import { spanQuerySchema } from './span-query';

/** Body of `POST /admin/keys`. */
export const newKeySchema = z.strictObject({
  customerId: customerIdSchema,
  tier: z.enum(TIERS).optional(),
});
/** Body of `POST /admin/keys/revoke`: the key itself, its id (as `keys list` prints it) or its prefix. */
export const revokeSchema = z
  .strictObject({
    key: z.string().min(1).optional(),
    id: z
      .string()
      .regex(/^[0-9a-f]{12,64}$/, 'must be 12-64 hex digits')
      .optional(),
    prefix: z.string().min(4).max(16).optional(),
  })
  .refine((r) => [r.key, r.id, r.prefix].filter((v) => v !== undefined).length === 1, {
    message: 'give exactly one of key, id, prefix',
  });
/** Query of `GET /admin/keys`. */
export const keysQuery = z.object({ customerId: customerIdSchema.optional() });
/** Body of `POST /admin/customers/:id/overrides/end`. */
export const endOverridesSchema = z.strictObject({ all: z.boolean().optional() });
/** Body of `PUT /admin/customers/:id`. */
export const putCustomerSchema = customerRecordSchema.omit({ overrides: true, updatedAt: true });

/** Body of `POST /usage/increase-request` (docs/usage-api.md). */
export const increaseRequestSchema = z.strictObject({
  reason: z.string().trim().min(1, 'must say why').max(1000),
  limits: limitListSchema.optional(),
  until: z.iso.datetime({ offset: true }).optional(),
});
export type IncreaseRequest = z.infer<typeof increaseRequestSchema>;

/** Query of `GET /usage`. */
export const usageQuery = spanQuerySchema();
/** Query of `GET /admin/metrics`. */
export const metricsQuery = spanQuerySchema(['1h', '24h', '7d', '30d'], '1h');
