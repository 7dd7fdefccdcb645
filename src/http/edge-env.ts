/** The Hono environment every route shares: the bindings, and this isolate's services on `c.var`. */
import type { Context, MiddlewareHandler } from 'hono';
import type { Bindings } from '../env';
import { getServices, type Services } from '../services';
import { docsUrlFor } from './docs-page';

/** Bindings in `c.env`, services in `c.var.services`. */
export type EdgeEnv = { Bindings: Bindings; Variables: { services: Services } };

/** The context of every handler. */
export type EdgeContext = Context<EdgeEnv>;

/** The documentation every problem body links to, for this request (see `docs-page.ts`). */
export function docsUrlOf(c: EdgeContext): string {
  return docsUrlFor(c.var.services.settings, c.req.url);
}

/** Sets `c.var.services`, built once per isolate (the composition root is `services.ts`). */
export function withServices(): MiddlewareHandler<EdgeEnv> {
  return async (c, next) => {
    c.set('services', getServices(c.env));
    await next();
  };
}
