/** The main path: identify, resolve the policy, decide, forward, add headers. */
import { callOrigin, type OriginFailure, originFailureResponse } from '../http/call-origin';
import { checkRequest, decisionReporter } from '../http/check-request';
import { demoOrigin } from '../http/demo-origin';
import { docsUrlOf, type EdgeContext } from '../http/edge-env';
import { type Origin, originHeaders, urlOrigin, withHeaders } from '../http/forward';
import { problemResponse } from '../http/problem';
import { log } from '../telemetry/log';

type Ctx = EdgeContext;

/** Handles every request outside the reserved prefix; reports each decision to telemetry. */
export async function proxy(c: Ctx): Promise<Response> {
  const { services } = c.var;
  const report = decisionReporter(services, (work) => c.executionCtx.waitUntil(work));
  const request = c.req.raw;
  const url = new URL(request.url);
  const verdict = await checkRequest(services, {
    headers: request.headers,
    method: request.method,
    path: url.pathname,
    docsUrl: docsUrlOf(c),
  });
  // A refused credential is answered before any limiter work worth timing.
  const timing: Record<string, string> = verdict.caller
    ? { 'Server-Timing': serverTiming(verdict.limiterMs) }
    : {};
  if (verdict.problem) {
    if (verdict.event) report({ ...verdict.event, status: verdict.status });
    return problemResponse(verdict.problem, { ...verdict.headers, ...timing });
  }
  const headers = { ...verdict.headers, ...timing };
  const result = await callOrigin(
    originFor(services.settings.originUrl),
    forwardRequest(request, verdict.trusted),
    services.settings.originTimeoutMs,
  );
  const response = result.ok
    ? withHeaders(result.response, headers)
    : originFailed(result.failure, docsUrlOf(c), headers);
  if (verdict.event) report({ ...verdict.event, status: response.status });
  return response;
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

/**
 * `Server-Timing` for the limiter's own part of a request (identify, policy, decision), so
 * operators can see it in browser devtools and the benchmark can read it without client noise.
 * Workers' clock advances only across I/O, so in production this is the time spent waiting on
 * KV, the Durable Object or Redis; pure CPU work in between shows as 0.
 */
export function serverTiming(ms: number): string {
  return `edgelimit;dur=${Math.max(0, ms).toFixed(2)};desc="rate limit"`;
}
