/** The Hono environment every route shares: the bindings, and this isolate's services on `c.var`. */
import type { Context, MiddlewareHandler } from 'hono';
import type { Bindings } from '../env';
import { getServices, type Services } from '../services';

/** Bindings in `c.env`, services in `c.var.services`. */
export type EdgeEnv = { Bindings: Bindings; Variables: { services: Services } };

/** The context of every handler. */
export type EdgeContext = Context<EdgeEnv>;

/** Sets `c.var.services`, built once per isolate (the composition root is `services.ts`). */
export function withServices(): MiddlewareHandler<EdgeEnv> {
  return async (c, next) => {
    c.set('services', getServices(c.env));
    await next();
  };
}
