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
/** Body of `POST /admin/keys/revoke`. */
export const revokeSchema = z.strictObject({ key: z.string().min(1) });
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
export const metricsQuery = spanQuerySchema(['1h', '24h', '7d'], '1h');
