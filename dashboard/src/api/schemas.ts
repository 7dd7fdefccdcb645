/** The dashboard's view of the usage API: the shared response schemas, and what only it parses. */
import * as z from 'zod/mini';

export * from '../../../src/http/usage-api';

/** An RFC 9457 problem body, as far as the dashboard uses it. */
export const problemSchema = z.object({
  title: z.optional(z.string()),
  detail: z.optional(z.string()),
  status: z.optional(z.number()),
});

/** POST /_edgelimit/usage/increase-request */
export const increaseAcceptedSchema = z.object({ received: z.literal(true) });

/** What a customer can ask for in an increase request. */
export interface IncreaseRequest {
  readonly reason: string;
  readonly limits?: readonly { limit: number; window: string }[];
  readonly until?: string;
}
