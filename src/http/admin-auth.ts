/** The admin token check shared by every admin route, behind the failed-attempts guard. */
import type { MiddlewareHandler } from 'hono';
import { clientSubject } from '../identity/credentials';
import { log } from '../telemetry/log';
import { docsUrlOf, type EdgeEnv } from './edge-env';
import { fail, problems } from './problem';
import { rateLimitHeaders } from './rate-limit-headers';
import { countFailedAttempt } from './refuse-unidentified';

/**
 * Checks `Authorization: Bearer <ADMIN_TOKEN>` in constant time; throws 503 while no admin token
 * is configured, else 401 for a caller who is not an admin, or 429 once the client address used up
 * its failed-attempts window. Over the limit no token is checked at all, so a right guess gets the
 * same 429 as a wrong one.
 */
export function requireAdmin(): MiddlewareHandler<EdgeEnv> {
  return async (c, next) => {
    if (!c.env.ADMIN_TOKEN) fail(problems.adminDisabled());
    const { services } = c.var;
    const headers = c.req.raw.headers;
    const ip = clientSubject(headers, services.settings.anonymousIpv6Prefix);
    const blocked = services.failedAttempts.blocked(ip, services.clock.now());
    if (!blocked) {
      const auth = headers.get('authorization') ?? '';
      const token = /^bearer\s+/i.test(auth) ? auth.replace(/^bearer\s+/i, '').trim() : '';
      if (token && (await services.verifyAdminToken(token))) return next();
    }
    log('auth-failure', { code: 'invalid-admin-token', ip, blocked }, 'warn');
    const decision = await countFailedAttempt(services, ip);
    const limitHeaders = rateLimitHeaders(decision);
    if (decision.outcome === 'rejected') {
      const subject = `failed admin token attempts from ${ip}`;
      fail(problems.quotaExceeded(decision, docsUrlOf(c), subject), limitHeaders);
    }
    fail(problems.adminUnauthorized(), {
      ...limitHeaders,
      'X-Edgelimit-Status': 'unauthenticated',
    });
  };
}
