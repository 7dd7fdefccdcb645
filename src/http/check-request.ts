/**
 * The limiter's decision for one request, as values: identity, policy, decision, headers and
 * problem body. The proxy route and the `RateLimiter` RPC entrypoint both answer from it, so a
 * request decided either way gets the same outcome, headers and body.
 */

import { sleep } from '../deadline';
import { type Caller, identify } from '../identity/identify';
import type { ReleaseRequest } from '../limiter/contract';
import { type Decision, decide, type Outcome } from '../limiter/decide';
import { customerIdentity, ipIdentity } from '../limiter/keys';
import { NO_THROTTLE, throttleFor } from '../limiter/throttle';
import { effectiveMethods } from '../policy/normalize-path';
import type { Services } from '../services';
import { logDecision } from '../telemetry/decision-log';
import { log } from '../telemetry/log';
import type { DecisionEvent } from '../telemetry/telemetry';
import { policyFor } from './caller-policy';
import { docsUrlFor } from './docs-page';
import type { ChargePlan } from './origin-charge';
import { type Problem, problems } from './problem';
import { rateLimitHeaders, throttleHeaders } from './rate-limit-headers';
import { refusalOf } from './refuse-unidentified';
import { checkSideWindow } from './side-limit';

/** What the limiter needs to know about a request. */
export interface RequestToCheck {
  /** The request's headers: credentials (`X-API-Key`, `Authorization`, `X-Service-Token`) and
   * `CF-Connecting-IP`. */
  readonly headers: Headers;
  readonly method: string;
  /** URL path, already parsed (no query). */
  readonly path: string;
  /** Units the request consumes; default 1. */
  readonly cost?: number;
  /**
   * `false` reads the windows without recording anything (a peek): no quota, no telemetry, no
   * throttling delay. The failed-attempts window of bad credentials still counts, so peeking is
   * no faster way to guess keys.
   */
  readonly consume?: boolean;
  /**
   * `false`: read concurrency limits without taking a slot (an edge that cannot tell when the
   * caller's response ends, like the RPC entrypoint). Default true.
   */
  readonly holdSlots?: boolean;
  /** Where problem bodies link; default `DOCS_URL`, else the worker's own page. */
  readonly docsUrl?: string;
}

/** The decision for one request, ready for any edge (HTTP response or RPC result). */
export interface Verdict {
  readonly outcome: Outcome | 'unauthenticated';
  /** 200 when the request may proceed, else the status to answer with. */
  readonly status: number;
  /** Every header the answer carries for the limiter (not `Content-Type`, not `Server-Timing`). */
  readonly headers: Record<string, string>;
  /** Set when the request is refused; the problem+json body. */
  readonly problem?: Problem;
  readonly caller?: Caller;
  /** The tier the request was decided under (`internal`, `unauthenticated`, `anonymous`, ...). */
  readonly tier: string;
  /** Headers the origin gets from the verified identity; empty when refused. */
  readonly trusted: Record<string, string>;
  /** Time spent identifying and deciding, ms (before any throttling delay). */
  readonly limiterMs: number;
  /** What telemetry records, once the final status is known; absent for a peek. */
  readonly event?: Omit<DecisionEvent, 'status'>;
  /** Slots the request holds in its concurrency limits: give them back when it is over. */
  readonly slots?: ReleaseRequest;
  /** Windows the origin charges after the response, when the request may proceed. */
  readonly charge?: ChargePlan;
}

/**
 * Decides one request. When it may proceed under graduated throttling, resolves only after the
 * throttling delay, so every edge holds the request equally long.
 */
export async function checkRequest(services: Services, request: RequestToCheck): Promise<Verdict> {
  const { settings, clock } = services;
  const { method, path } = request;
  const docsUrl = request.docsUrl ?? docsUrlFor(settings);
  const consume = request.consume ?? true;
  const started = performance.now();
  const identity = await identify(request.headers, services);
  const elapsed = () => performance.now() - started;

  if (!identity.ok) {
    const { failure } = identity;
    const { decision, problem, headers } = await refusalOf(services, failure, path, docsUrl);
    return {
      outcome: 'unauthenticated',
      status: problem.status,
      headers,
      problem,
      tier: 'unauthenticated',
      trusted: {},
      limiterMs: elapsed(),
      ...(consume
        ? { event: { decision, tier: 'unauthenticated', method, path, clientIp: failure.ip } }
        : {}),
    };
  }

  const { caller } = identity;
  if (caller.kind === 'anonymous' && consume && isPreflight(method, request.headers)) {
    // Browsers send preflights without credentials: counting them in the anonymous window would
    // refuse browser apps behind one NAT before their real requests. They get their own window.
    const side = await checkSideWindow(
      services,
      'preflight',
      ipIdentity(caller.ip),
      `client ${caller.ip}`,
    );
    return {
      outcome: side.decision.outcome,
      status: side.problem ? 429 : 200,
      headers: side.headers,
      ...(side.problem ? { problem: side.problem } : {}),
      caller,
      tier: 'anonymous',
      trusted: side.problem ? {} : { 'X-Customer-Tier': 'anonymous' },
      limiterMs: elapsed(),
      event: { decision: side.decision, caller, tier: 'anonymous', method, path },
    };
  }
  if (caller.kind === 'service') {
    // Internal traffic never touches a store, so no store failure can ever reject it.
    const bypass: Decision = {
      outcome: 'bypassed',
      now: clock.now(),
      windows: [],
      shadow: [],
      storeLatencyMs: 0,
      store: 'none',
    };
    return {
      outcome: 'bypassed',
      status: 200,
      headers: rateLimitHeaders(bypass),
      caller,
      tier: 'internal',
      trusted: { 'X-Service-Name': caller.service },
      limiterMs: elapsed(),
      ...(consume ? { event: { decision: bypass, caller, tier: 'internal', method, path } } : {}),
    };
  }

  const policy = await policyFor(
    services,
    caller,
    method,
    path,
    effectiveMethods(method, request.headers),
  );
  const decision = await decide({
    store: services.counters,
    identity:
      caller.kind === 'customer' ? customerIdentity(caller.customerId) : ipIdentity(caller.ip),
    policy,
    clock,
    // An explicit cost (RPC callers) wins over the rules'; a rule's `cost` applies otherwise.
    ...(request.cost !== undefined || (policy.cost ?? 1) !== 1
      ? { cost: request.cost ?? policy.cost ?? 1 }
      : {}),
    ...(consume ? {} : { consume: false }),
    ...(request.holdSlots === false ? { holdSlots: false } : {}),
  });
  const limiterMs = elapsed();
  const headers = rateLimitHeaders(decision);
  const subject =
    caller.kind === 'customer' ? `customer ${caller.customerId}` : `client ${caller.ip}`;
  const base = {
    caller,
    tier: policy.tier,
    limiterMs,
    ...(decision.slots ? { slots: decision.slots } : {}),
    ...(consume ? { event: { decision, caller, tier: policy.tier, method, path } } : {}),
  };
  if (decision.error) {
    log(
      'store-error',
      {
        store: decision.store,
        reason: decision.error.reason,
        message: decision.error.message,
        outcome: decision.outcome,
      },
      'error',
    );
  }
  const wouldReject = decision.shadow.filter((w) => w.wouldReject).map((w) => w.id);
  if (wouldReject.length && consume) {
    // Shadow rules are being tried on real traffic: say whom they would have stopped, never stop.
    log('shadow-would-reject', { subject, tier: policy.tier, path, windows: wouldReject });
  }

  if (decision.outcome === 'rejected') {
    if (consume) {
      log('rejected', {
        subject,
        tier: policy.tier,
        path,
        windows: decision.windows.filter((w) => w.retryAt > decision.now).map((w) => w.id),
      });
    }
    return {
      ...base,
      outcome: 'rejected',
      status: 429,
      headers,
      problem: problems.quotaExceeded(decision, docsUrl, subject),
      trusted: {},
    };
  }
  if (decision.outcome === 'failed-closed') {
    return {
      ...base,
      outcome: 'failed-closed',
      status: 503,
      headers: { ...headers, 'Retry-After': '1' },
      problem: problems.storeUnavailable(
        docsUrl,
        'The rate limiter could not check this request and this policy fails closed. Retry shortly.',
        { documentation: docsUrl },
      ),
      trusted: {},
    };
  }

  const charged = decision.windows.filter((w) => w.charge === 'origin');
  const charge: ChargePlan | undefined =
    charged.length && consume
      ? {
          identity:
            caller.kind === 'customer'
              ? customerIdentity(caller.customerId)
              : ipIdentity(caller.ip),
          windows: charged,
          cost: decision.cost ?? 1,
          decision,
        }
      : undefined;
  const trusted: Record<string, string> =
    caller.kind === 'customer'
      ? { 'X-Customer-Id': caller.customerId, 'X-Customer-Tier': policy.tier }
      : { 'X-Customer-Tier': 'anonymous' };
  const throttle =
    decision.outcome === 'allowed' && consume
      ? throttleFor(decision.windows, policy.throttle)
      : NO_THROTTLE;
  // Graduated throttling slows a caller near the hard limit; the request is already counted.
  if (throttle.delayMs > 0) await scheduler.wait(throttle.delayMs);
  return {
    ...base,
    outcome: decision.outcome,
    status: 200,
    headers: { ...headers, ...throttleHeaders(throttle) },
    trusted,
    ...(charge ? { charge } : {}),
  };
}

/** A CORS preflight: `OPTIONS` with `Origin` and `Access-Control-Request-Method` (Fetch standard). */
function isPreflight(method: string, headers: Headers): boolean {
  return (
    method.toUpperCase() === 'OPTIONS' &&
    headers.has('origin') &&
    headers.has('access-control-request-method')
  );
}

/**
 * Reports decisions to telemetry inside `waitUntil`, with the breaker transitions the store saw
 * since the last report; errors are logged, never thrown.
 */
export function decisionReporter(
  services: Services,
  waitUntil: (work: Promise<unknown>) => void,
): (event: DecisionEvent) => void {
  return (event) => {
    if (services.settings.logDecisions) logDecision(event);
    waitUntil(
      services.telemetry.onDecision(event).catch((error: unknown) => {
        log('internal-error', { where: 'telemetry', message: String(error) }, 'error');
      }),
    );
    // A `fast` renewal this request started runs on after its answer: without waitUntil the
    // runtime may cancel it with the request, and the lease (and its debt) would be lost.
    // None in flight (most requests): nothing to wait for, so nothing is registered.
    if (services.storeHealth.renewalsInFlight() > 0) waitUntil(services.storeHealth.pending());
    // Units leased here and left unused go back even if no request follows (one timer).
    const returns = services.storeHealth.armReturns(sleep);
    if (returns) waitUntil(returns);
    // Breaker transitions happen inside store calls, which have no execution context of their
    // own; the request that saw them reports them.
    for (const change of services.storeHealth.takeBreakerChanges()) {
      const sent = services.telemetry.onBreakerChange?.(change);
      if (sent) waitUntil(sent.catch(() => {}));
    }
  };
}
