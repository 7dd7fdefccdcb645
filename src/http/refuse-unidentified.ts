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
import { docsUrlFor } from './docs-page';
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
  requestUrl: string,
): Promise<Refusal> {
  const path = new URL(requestUrl).pathname;
  const docsUrl = docsUrlFor(services.settings, requestUrl);
  const { decision, problem, headers } = await refusalOf(services, failure, path, docsUrl);
  return { decision, response: problemResponse(problem, headers) };
}

/** {@link refuseUnidentified} without the Response, for callers that are not HTTP (RPC). */
export async function refusalOf(
  services: Services,
  failure: IdentityFailure,
  path: string,
  docsUrl: string = docsUrlFor(services.settings),
): Promise<RefusalParts> {
  log('auth-failure', { code: failure.code, ip: failure.ip, path }, 'warn');
  const decision = await countFailedAttempt(services, failure.ip);
  const headers = rateLimitHeaders(decision);
  if (decision.outcome === 'rejected') {
    const subject = `failed API key attempts from ${failure.ip}`;
    return {
      decision,
      problem: problems.quotaExceeded(decision, docsUrl, subject),
      headers,
    };
  }
  return {
    decision,
    problem: problems.credentialsRejected(docsUrl, failure),
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
  requestUrl: string,
): Promise<never> {
  return failWith((await refuseUnidentified(services, failure, requestUrl)).response);
}

/**
 * Counts one failed attempt from `ip` in its failed-attempts window, and remembers in the isolate
 * when that window is full, so the next key or token from `ip` is refused unread.
 */
export async function countFailedAttempt(services: Services, ip: string): Promise<Decision> {
  const decision = await decide({
    store: services.counters,
    identity: keyGuessIdentity(ip),
    policy: await keyGuessPolicy(services),
    clock: services.clock,
  });
  services.failedAttempts.record(ip, decision.windows, decision.now);
  return decision;
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
