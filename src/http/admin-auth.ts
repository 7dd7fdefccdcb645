/** The admin token check shared by every admin route. */
import type { MiddlewareHandler } from 'hono';
import type { EdgeEnv } from './edge-env';
import { fail, problems } from './problem';

/**
 * Checks `Authorization: Bearer <ADMIN_TOKEN>` in constant time; throws 503 while no admin token
 * is configured, else 401 for a caller who is not an admin.
 */
export function requireAdmin(): MiddlewareHandler<EdgeEnv> {
  return async (c, next) => {
    if (!c.env.ADMIN_TOKEN) fail(problems.adminDisabled());
    const auth = c.req.header('authorization') ?? '';
    const token = /^bearer\s+/i.test(auth) ? auth.replace(/^bearer\s+/i, '').trim() : '';
    if (!token || !(await c.var.services.verifyAdminToken(token))) {
      fail(problems.adminUnauthorized());
    }
    await next();
  };
}
