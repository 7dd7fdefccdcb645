/** The admin token check shared by every admin route, behind the failed-attempts guard. */
import type { Bindings } from '../env';
import { problemResponse, quotaExceeded } from '../http/problem';
import { rateLimitHeaders } from '../http/rate-limit-headers';
import { clientSubject } from '../identity/credentials';
import { getServices } from '../services';
import { log } from '../telemetry/log';
import { countFailedAttempt } from './refuse-unidentified';

/**
 * Checks `Authorization: Bearer <ADMIN_TOKEN>` in constant time. Resolves to the response to send
 * when the caller is not an admin (503 while no admin token is configured, else 401, or 429 once
 * the client address used up its failed-attempts window), or `undefined` when they are. Over the
 * limit no token is checked at all, so a right guess gets the same 429 as a wrong one.
 */
export async function refuseNonAdmin(env: Bindings, headers: Headers) {
  if (!env.ADMIN_TOKEN) {
    return problemResponse({
      type: 'about:blank',
      title: 'Admin API disabled',
      status: 503,
      detail: 'Set the ADMIN_TOKEN secret to enable the admin API.',
    });
  }
  const services = getServices(env);
  const ip = clientSubject(headers, services.settings.anonymousIpv6Prefix);
  const blocked = services.failedAttempts.blocked(ip, services.clock.now());
  if (!blocked) {
    const auth = headers.get('authorization') ?? '';
    const token = /^bearer\s+/i.test(auth) ? auth.replace(/^bearer\s+/i, '').trim() : '';
    if (token && (await services.verifyAdminToken(token))) return undefined;
  }
  log('auth-failure', { code: 'invalid-admin-token', ip, blocked }, 'warn');
  const decision = await countFailedAttempt(services, ip);
  const limitHeaders = rateLimitHeaders(decision);
  if (decision.outcome === 'rejected') {
    const subject = `failed admin token attempts from ${ip}`;
    return problemResponse(
      quotaExceeded(decision, services.settings.docsUrl, subject),
      limitHeaders,
    );
  }
  return problemResponse(
    {
      type: 'about:blank',
      title: 'Unauthorized',
      status: 401,
      detail: 'Send Authorization: Bearer <ADMIN_TOKEN>.',
    },
    { ...limitHeaders, 'X-Edgelimit-Status': 'unauthenticated' },
  );
}
