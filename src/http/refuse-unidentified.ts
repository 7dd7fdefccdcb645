/**
 * What every route answers a request whose credentials failed: the attempt counts against the
 * client IP's failed-attempts window (so keys cannot be guessed at speed), then a 429 once that
 * window is full, else a 401 naming what is wrong.
 */
import type { IdentityFailure } from '../identity/identify';
import { type Decision, decide } from '../limiter/decide';
import { keyGuessIdentity } from '../limiter/keys';
import { limitsOf } from '../policy/limits-of';
import type { ResolvedPolicy } from '../policy/resolve-policy';
import type { Services } from '../services';
import { log } from '../telemetry/log';
import { failWith, type Problem, problemResponse, problems } from './problem';
import { rateLimitHeaders } from './rate-limit-headers';

/** The answer to an unidentified request, and the failed-attempts decision behind it. */
export interface Refusal {
  readonly response: Response;
  readonly decision: Decision;
}

/** A refusal as values: the problem body and headers a {@link Refusal} response carries. */
export interface RefusalParts {
  readonly decision: Decision;
  readonly problem: Problem;
  readonly headers: Record<string, string>;
}

/**
 * Counts the failed attempt and builds the 401 (or 429) problem response. The quota headers
 * describe the failed-attempts window; `X-Edgelimit-Status` says the request was refused.
 */
export async function refuseUnidentified(
  services: Services,
  failure: IdentityFailure,
  path: string,
): Promise<Refusal> {
  const { decision, problem, headers } = await refusalOf(services, failure, path);
  return { decision, response: problemResponse(problem, headers) };
}

/** {@link refuseUnidentified} without the Response, for callers that are not HTTP (RPC). */
export async function refusalOf(
  services: Services,
  failure: IdentityFailure,
  path: string,
): Promise<RefusalParts> {
  const { settings } = services;
  log('auth-failure', { code: failure.code, ip: failure.ip, path }, 'warn');
  const decision = await decide({
    store: services.counters,
    identity: keyGuessIdentity(failure.ip),
    policy: await keyGuessPolicy(services),
    clock: services.clock,
  });
  const headers = rateLimitHeaders(decision);
  if (decision.outcome === 'rejected') {
    const subject = `failed API key attempts from ${failure.ip}`;
    return {
      decision,
      problem: problems.quotaExceeded(decision, settings.docsUrl, subject),
      headers,
    };
  }
  return {
    decision,
    problem: problems.credentialsRejected(settings.docsUrl, failure),
    headers: {
      ...headers,
      'X-Edgelimit-Status': 'unauthenticated',
      'WWW-Authenticate': 'Bearer realm="api"',
    },
  };
}

/** Like {@link refuseUnidentified}, for routes that only answer: throws the refusal. */
export async function failUnidentified(
  services: Services,
  failure: IdentityFailure,
  path: string,
): Promise<never> {
  return failWith((await refuseUnidentified(services, failure, path)).response);
}

/** The failed-attempts policy: `keyGuessLimit` of the policy in force, per client IP. */
export async function keyGuessPolicy(services: Services): Promise<ResolvedPolicy> {
  const policy = await services.config.policy();
  return {
    tier: 'anonymous',
    failMode: 'open',
    windows: limitsOf(policy.keyGuessLimit, 'auth-failures'),
  };
}
