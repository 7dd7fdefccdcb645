/** The main path: identify, resolve the policy, decide, forward, add headers. */
import type { Context } from 'hono';
import type { Bindings } from '../env';
import { callOrigin, type OriginFailure, originFailureResponse } from '../http/call-origin';
import { demoOrigin } from '../http/demo-origin';
import { type Origin, originHeaders, urlOrigin, withHeaders } from '../http/forward';
import { problemResponse, quotaExceeded } from '../http/problem';
import { rateLimitHeaders, throttleHeaders } from '../http/rate-limit-headers';
import { type Caller, identify } from '../identity/identify';
import { type Decision, decide } from '../limiter/decide';
import { customerIdentity, ipIdentity } from '../limiter/keys';
import { NO_THROTTLE, throttleFor } from '../limiter/throttle';
import { effectiveMethods } from '../policy/normalize-path';
import type { ResolvedPolicy } from '../policy/resolve-policy';
import { resolvePolicy } from '../policy/resolve-policy';
import { getServices, type Services } from '../services';
import { log } from '../telemetry/log';
import type { DecisionEvent } from '../telemetry/telemetry';
import { refuseUnidentified } from './refuse-unidentified';
import { checkSideWindow } from './side-limit';

type Ctx = Context<{ Bindings: Bindings }>;

/** Handles every request outside the reserved prefix; reports each decision to telemetry. */
export async function proxy(c: Ctx): Promise<Response> {
  const services = getServices(c.env);
  const report = (event: DecisionEvent) => {
    c.executionCtx.waitUntil(
      services.telemetry.onDecision(event).catch((error: unknown) => {
        log('internal-error', { where: 'telemetry', message: String(error) }, 'error');
      }),
    );
    // Breaker transitions happen inside store calls, which have no execution context of their
    // own; the request that saw them reports them.
    for (const change of services.storeHealth.takeBreakerChanges()) {
      const sent = services.telemetry.onBreakerChange?.(change);
      if (sent) c.executionCtx.waitUntil(sent.catch(() => {}));
    }
  };
  return limitAndForward(c, services, report);
}

async function limitAndForward(
  c: Ctx,
  services: Services,
  report: (event: DecisionEvent) => void,
): Promise<Response> {
  const { settings, clock } = services;
  const request = c.req.raw;
  const url = new URL(request.url);
  const started = performance.now();
  const identity = await identify(request.headers, services);

  if (!identity.ok) {
    const { failure } = identity;
    const { response, decision } = await refuseUnidentified(services, failure, url.pathname);
    report({
      decision,
      tier: 'unauthenticated',
      method: request.method,
      path: url.pathname,
      clientIp: failure.ip,
      status: response.status,
    });
    return response;
  }

  const { caller } = identity;
  const origin = originFor(settings.originUrl);
  if (caller.kind === 'anonymous' && isPreflight(request)) {
    // Browsers send preflights without credentials: counting them in the anonymous window would
    // refuse browser apps behind one NAT before their real requests. They get their own window.
    const side = await checkSideWindow(
      services,
      'preflight',
      ipIdentity(caller.ip),
      `client ${caller.ip}`,
    );
    const event = {
      decision: side.decision,
      caller,
      tier: 'anonymous' as const,
      method: request.method,
      path: url.pathname,
    };
    if (side.refused) {
      report({ ...event, status: 429 });
      return side.refused;
    }
    const result = await callOrigin(
      origin,
      forwardRequest(request, { 'X-Customer-Tier': 'anonymous' }),
      settings.originTimeoutMs,
    );
    const headers = { ...side.headers, 'Server-Timing': serverTiming(performance.now() - started) };
    const response = result.ok
      ? withHeaders(result.response, headers)
      : originFailed(result.failure, settings.docsUrl, headers);
    report({ ...event, status: response.status });
    return response;
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
    const forwarded = forwardRequest(request, { 'X-Service-Name': caller.service });
    const headers = {
      ...rateLimitHeaders(bypass),
      'Server-Timing': serverTiming(performance.now() - started),
    };
    const result = await callOrigin(origin, forwarded, settings.originTimeoutMs);
    const response = result.ok
      ? withHeaders(result.response, headers)
      : originFailed(result.failure, settings.docsUrl, headers);
    report({
      decision: bypass,
      caller,
      tier: 'internal',
      method: request.method,
      path: url.pathname,
      status: response.status,
    });
    return response;
  }

  const policy = await policyFor(
    services,
    caller,
    request.method,
    url.pathname,
    effectiveMethods(request.method, request.headers),
  );
  const decision = await decide({
    store: services.counters,
    identity:
      caller.kind === 'customer' ? customerIdentity(caller.customerId) : ipIdentity(caller.ip),
    policy,
    clock,
  });
  const headers = {
    ...rateLimitHeaders(decision),
    'Server-Timing': serverTiming(performance.now() - started),
  };
  const event = { decision, caller, tier: policy.tier, method: request.method, path: url.pathname };
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
  if (wouldReject.length) {
    // Shadow rules are being tried on real traffic: say whom they would have stopped, never stop.
    log('shadow-would-reject', {
      subject: caller.kind === 'customer' ? `customer ${caller.customerId}` : `client ${caller.ip}`,
      tier: policy.tier,
      path: url.pathname,
      windows: wouldReject,
    });
  }

  if (decision.outcome === 'rejected') {
    const subject =
      caller.kind === 'customer' ? `customer ${caller.customerId}` : `client ${caller.ip}`;
    log('rejected', {
      subject,
      tier: policy.tier,
      path: url.pathname,
      windows: decision.windows.filter((w) => w.retryAt > decision.now).map((w) => w.id),
    });
    report({ ...event, status: 429 });
    return problemResponse(quotaExceeded(decision, settings.docsUrl, subject), headers);
  }
  if (decision.outcome === 'failed-closed') {
    report({ ...event, status: 503 });
    return problemResponse(
      {
        type: `${settings.docsUrl}#store-unavailable`,
        title: 'Rate limit store unavailable',
        status: 503,
        detail:
          'The rate limiter could not check this request and this policy fails closed. Retry shortly.',
        documentation: settings.docsUrl,
      },
      { ...headers, 'Retry-After': '1' },
    );
  }

  const trusted: Record<string, string> =
    caller.kind === 'customer'
      ? { 'X-Customer-Id': caller.customerId, 'X-Customer-Tier': policy.tier }
      : { 'X-Customer-Tier': 'anonymous' };
  const throttle =
    decision.outcome === 'allowed' ? throttleFor(decision.windows, policy.throttle) : NO_THROTTLE;
  // Graduated throttling slows a caller near the hard limit; the request is already counted.
  if (throttle.delayMs > 0) await scheduler.wait(throttle.delayMs);
  const result = await callOrigin(
    origin,
    forwardRequest(request, trusted),
    settings.originTimeoutMs,
  );
  const outHeaders = { ...headers, ...throttleHeaders(throttle) };
  const response = result.ok
    ? withHeaders(result.response, outHeaders)
    : originFailed(result.failure, settings.docsUrl, outHeaders);
  report({ ...event, status: response.status });
  return response;
}

/** A CORS preflight: `OPTIONS` with `Origin` and `Access-Control-Request-Method` (Fetch standard). */
function isPreflight(request: Request): boolean {
  return (
    request.method === 'OPTIONS' &&
    request.headers.has('origin') &&
    request.headers.has('access-control-request-method')
  );
}

/** A failed origin call: logged, and answered as a 502 or 504 with the quota headers. */
function originFailed(
  failure: OriginFailure,
  docsUrl: string,
  headers: Record<string, string>,
): Response {
  log('origin-error', { kind: failure.kind, message: failure.message }, 'error');
  return originFailureResponse(failure, docsUrl, headers);
}

/**
 * The request the origin receives: the client's, body included as it came (so a
 * `Content-Length` the client sent is kept rather than re-chunked), with the trusted headers.
 */
function forwardRequest(request: Request, trusted: Record<string, string>): Request {
  return new Request(request, {
    headers: originHeaders(request.headers, trusted),
    redirect: 'manual',
  });
}

const origins = new Map<string, Origin>();
function originFor(originUrl: string): Origin {
  if (originUrl === 'demo') return demoOrigin;
  let origin = origins.get(originUrl);
  if (!origin) {
    origin = urlOrigin(originUrl);
    origins.set(originUrl, origin);
  }
  return origin;
}

/** The policy of a verified, limited caller. */
export async function policyFor(
  services: Services,
  caller: Exclude<Caller, { kind: 'service' }>,
  method: string,
  path: string,
  overrideMethods: readonly string[] = [],
): Promise<ResolvedPolicy> {
  const policy = await services.config.policy();
  const now = services.clock.now();
  if (caller.kind === 'anonymous')
    return resolvePolicy({ policy, tier: 'anonymous', method, overrideMethods, path, now });
  const customer = await services.config.customer(caller.customerId);
  return resolvePolicy({
    policy,
    tier: customer?.tier ?? 'free',
    ...(customer ? { customer } : {}),
    method,
    overrideMethods,
    path,
    now,
  });
}

/**
 * `Server-Timing` for the limiter's own part of a request (identify, policy, decision), so
 * operators can see it in browser devtools and the benchmark can read it without client noise.
 * Workers' clock advances only across I/O, so in production this is the time spent waiting on
 * KV, the Durable Object or Redis; pure CPU work in between shows as 0.
 */
export function serverTiming(ms: number): string {
  return `edgelimit;dur=${Math.max(0, ms).toFixed(2)};desc="rate limit"`;
}
