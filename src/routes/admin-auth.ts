/** The admin token check shared by every admin route. */
import type { Bindings } from '../env';
import { problemResponse } from '../http/problem';
import { getServices } from '../services';

/**
 * Checks `Authorization: Bearer <ADMIN_TOKEN>` in constant time. Resolves to the response to send
 * when the caller is not an admin (503 while no admin token is configured, else 401), or
 * `undefined` when they are.
 */
export async function refuseNonAdmin(env: Bindings, authorization: string | undefined) {
  if (!env.ADMIN_TOKEN) {
    return problemResponse({
      type: 'about:blank',
      title: 'Admin API disabled',
      status: 503,
      detail: 'Set the ADMIN_TOKEN secret to enable the admin API.',
    });
  }
  const auth = authorization ?? '';
  const token = /^bearer\s+/i.test(auth) ? auth.replace(/^bearer\s+/i, '').trim() : '';
  if (!token || !(await getServices(env).verifyAdminToken(token))) {
    return problemResponse({
      type: 'about:blank',
      title: 'Unauthorized',
      status: 401,
      detail: 'Send Authorization: Bearer <ADMIN_TOKEN>.',
    });
  }
  return undefined;
}
