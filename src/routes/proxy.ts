/** The main path: identify, resolve the policy, decide, forward, add headers. */
import { callOrigin, type OriginFailure, originFailureResponse } from '../http/call-origin';
import { checkRequest, decisionReporter, type Verdict } from '../http/check-request';
import { demoOrigin } from '../http/demo-origin';
import { docsUrlOf, type EdgeContext } from '../http/edge-env';
import { type Origin, originHeaders, urlOrigin, withHeaders } from '../http/forward';
import { applyCharge, CHARGE_HEADER } from '../http/origin-charge';
import { problemResponse } from '../http/problem';
import { releaseAfterBody } from '../http/slot-release';
import type { Services } from '../services';
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
  const release = slotRelease(services, verdict);
  if (verdict.problem) {
    // A failed store may have taken the slot before failing: give it back, not at lease end.
    if (release) c.executionCtx.waitUntil(release());
    if (verdict.event) report({ ...verdict.event, status: verdict.status });
    return problemResponse(verdict.problem, { ...verdict.headers, ...timing });
  }
  const result = await callOrigin(
    originFor(services.settings.originUrl),
    forwardRequest(request, verdict.trusted),
    services.settings.originTimeoutMs,
  );
  if (!result.ok) {
    // The origin failed: the slot is free at once.
    if (release) await release();
    const failed = originFailed(result.failure, docsUrlOf(c), { ...verdict.headers, ...timing });
    if (verdict.event) report({ ...verdict.event, status: failed.status });
    return failed;
  }
  const origin = result.response;
  let headers = verdict.headers;
  let charged: number | undefined;
  if (verdict.charge) {
    const customerId = verdict.caller?.kind === 'customer' ? verdict.caller.customerId : undefined;
    const applied = await applyCharge(
      services,
      verdict.charge,
      origin.headers.get(CHARGE_HEADER),
      customerId,
      (work) => c.executionCtx.waitUntil(work),
    );
    // Quota headers as they stand after the charge, throttling headers as decided.
    headers = { ...verdict.headers, ...applied.headers };
    charged = applied.units;
  }
  if (verdict.event) {
    report({
      ...verdict.event,
      status: origin.status,
      ...(charged !== undefined ? { charged } : {}),
    });
  }
  const answer = withHeaders(origin, { ...headers, ...timing });
  // The charge is between the origin and the worker; the client never sees it.
  answer.headers.delete(CHARGE_HEADER);
  if (!release) return answer;
  return releaseAfterBody(answer, release, (work) => c.executionCtx.waitUntil(work));
}

/**
 * Gives back the slots a verdict holds, once; failures are logged (the slot then frees itself
 * when its lease ends). `undefined` when the verdict holds none.
 */
function slotRelease(services: Services, verdict: Verdict) {
  const slots = verdict.slots;
  const store = services.counters;
  if (!slots || !store.release) return undefined;
  let done: Promise<void> | undefined;
  return () => {
    done ??= (store.release?.(slots) ?? Promise.resolve()).catch((error: unknown) => {
      const message = String(error);
      log('store-error', { store: store.name, operation: 'release', message }, 'error');
    });
    return done;
  };
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
