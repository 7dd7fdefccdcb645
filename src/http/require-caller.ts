/**
 * Who is calling a reserved route: a bad key counts against key guessing like the proxied path
 * does (so the usage API is no faster way to guess keys), then answers 401 or 429.
 */
import { type Caller, identify } from '../identity/identify';
import { docsUrlOf, type EdgeContext } from './edge-env';
import { fail, problems } from './problem';
import { failUnidentified } from './refuse-unidentified';

/** The verified caller, or throws the refusal of an unidentified one. */
export async function requireCaller(c: EdgeContext): Promise<Caller> {
  const { services } = c.var;
  const identity = await identify(c.req.raw.headers, services);
  if (identity.ok) return identity.caller;
  return failUnidentified(services, identity.failure, c.req.url);
}

/** The verified customer, or throws: 401 for a caller without an API key. */
export async function requireCustomer(c: EdgeContext) {
  const caller = await requireCaller(c);
  if (caller.kind === 'customer') return caller;
  return fail(
    problems.apiKeyMissing(
      docsUrlOf(c),
      'This endpoint needs your API key (Authorization: Bearer <key> or X-API-Key).',
    ),
    { 'WWW-Authenticate': 'Bearer realm="api"' },
  );
}
