/**
 * Limits for traffic beside the API itself, each in its own window per caller: the worker's read
 * endpoints (`/usage`, `/rate_limit`: a store or Analytics Engine query the operator pays for) and
 * CORS preflights (which browsers send without credentials, so they must not use up the
 * anonymous window of everyone behind one NAT).
 */
import type { Caller } from '../identity/identify';
import { type Decision, decide } from '../limiter/decide';
import { customerIdentity, ipIdentity } from '../limiter/keys';
import { DEFAULT_PREFLIGHT_LIMIT, DEFAULT_RESERVED_LIMIT } from '../policy/default-policy';
import { limitsOf } from '../policy/limits-of';
import type { Services } from '../services';
import { failWith, type Problem, problemResponse, problems } from './problem';
import { rateLimitHeaders } from './rate-limit-headers';

/** Which side window: the read endpoints, or preflights. */
export type SideWindow = 'reserved' | 'preflight';

/** The decision and, when it is a rejection, the 429 to answer. */
export interface SideDecision {
  readonly decision: Decision;
  readonly headers: Record<string, string>;
  /** The 429 body, when refused. */
  readonly problem?: Problem;
  readonly refused?: Response;
}

/**
 * Counts one call of `identity` in its `kind` window (the policy's `reservedLimit` or
 * `preflightLimit`, defaults 60 and 300 per minute). Fails open like API traffic does.
 */
export async function checkSideWindow(
  services: Services,
  kind: SideWindow,
  identity: string,
  subject: string,
  docsUrl: string = services.settings.docsUrl,
): Promise<SideDecision> {
  const policy = await services.config.policy();
  const limits =
    kind === 'reserved'
      ? (policy.reservedLimit ?? DEFAULT_RESERVED_LIMIT)
      : (policy.preflightLimit ?? DEFAULT_PREFLIGHT_LIMIT);
  const decision = await decide({
    store: services.counters,
    identity,
    policy: { failMode: 'open', windows: limitsOf(limits, kind) },
    clock: services.clock,
  });
  const headers = rateLimitHeaders(decision);
  if (decision.outcome !== 'rejected') return { decision, headers };
  const what = kind === 'reserved' ? 'usage API calls' : 'CORS preflights';
  const problem = problems.quotaExceeded(decision, docsUrl, `${what} of ${subject}`);
  return { decision, headers, problem, refused: problemResponse(problem, headers) };
}

/**
 * Counts a call to the read endpoints in the caller's own `reserved` window (services are never
 * limited); throws the 429 once it is full.
 */
export async function limitReserved(
  services: Services,
  caller: Caller,
  docsUrl: string,
): Promise<void> {
  if (caller.kind === 'service') return;
  const [identity, subject] =
    caller.kind === 'customer'
      ? [customerIdentity(caller.customerId), `customer ${caller.customerId}`]
      : [ipIdentity(caller.ip), `client ${caller.ip}`];
  const { refused } = await checkSideWindow(services, 'reserved', identity, subject, docsUrl);
  if (refused) failWith(refused);
}
