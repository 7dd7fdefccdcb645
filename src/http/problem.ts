/**
 * The problem catalogue: every RFC 9457 problem+json answer the edge gives, built in one place and
 * thrown as an `HTTPException` that the app's one error handler renders.
 */
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { IdentityFailure } from '../identity/identify';
import { blockingWindow } from '../limiter/blocking-window';
import type { Decision } from '../limiter/decide';
import { secondsUntil } from './rate-limit-headers';

/** Problem type draft-ietf-httpapi-ratelimit-headers-11 registers for exceeded quotas. */
export const QUOTA_EXCEEDED_TYPE = 'https://iana.org/assignments/http-problem-types#quota-exceeded';

/** Fields every problem carries. */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly [extra: string]: unknown;
}

/** One bad input: where (`limits.0.window`, `(body)`, `(query)`) and what is wrong with it. */
export interface FieldError {
  readonly field: string;
  readonly message: string;
}

/** A problem+json response. */
export function problemResponse(problem: Problem, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(problem), {
    status: problem.status,
    headers: { 'Content-Type': 'application/problem+json', ...headers },
  });
}

/** A problem, thrown from anywhere in a route; `app.ts`'s error handler answers with it. */
export class ProblemError extends HTTPException {
  constructor(
    readonly problem: Problem,
    readonly headers: Record<string, string> = {},
  ) {
    super(problem.status as ContentfulStatusCode, {
      message: `${problem.title}: ${problem.detail}`,
      res: problemResponse(problem, headers),
    });
  }
}

/** Throws `problem` (with `headers`) as a {@link ProblemError}. */
export function fail(problem: Problem, headers: Record<string, string> = {}): never {
  throw new ProblemError(problem, headers);
}

/** Throws an answer already built (a refusal that also counted an attempt) as an HTTPException. */
export function failWith(response: Response): never {
  throw new HTTPException(response.status as ContentfulStatusCode, { res: response });
}

const blank = (status: number, title: string, detail: string): Problem => ({
  type: 'about:blank',
  title,
  status,
  detail,
});

/** Every problem the edge answers with, by name. */
export const problems = {
  notFound: (detail: string) => blank(404, 'Not found', detail),
  methodNotAllowed: (detail: string) => blank(405, 'Method not allowed', detail),
  /** 409: the request is fine but the state does not allow it (ambiguous key, nothing to end). */
  conflict: (title: string, detail: string) => blank(409, title, detail),
  /** 400 naming every bad field. */
  invalidRequest: (errors: readonly FieldError[]): Problem => ({
    ...blank(400, 'Invalid request', errors.map((e) => `${e.field}: ${e.message}`).join('; ')),
    errors,
  }),
  adminDisabled: () =>
    blank(503, 'Admin API disabled', 'Set the ADMIN_TOKEN secret to enable the admin API.'),
  adminUnauthorized: () => blank(401, 'Unauthorized', 'Send Authorization: Bearer <ADMIN_TOKEN>.'),
  /** 401 for credentials that failed (see `http/refuse-unidentified.ts`). */
  credentialsRejected: (docsUrl: string, failure: IdentityFailure): Problem => ({
    type: `${docsUrl}#${failure.code}`,
    title: failure.code === 'invalid-service-token' ? 'Invalid service token' : 'Invalid API key',
    status: 401,
    detail: `${failure.message}.`,
    code: failure.code,
    documentation: docsUrl,
  }),
  /** 401 for an endpoint that needs the customer's own API key. */
  apiKeyMissing: (docsUrl: string, detail: string, code = 'api-key-required'): Problem => ({
    type: `${docsUrl}#${code}`,
    title: 'Invalid API key',
    status: 401,
    detail,
    code,
    documentation: docsUrl,
  }),
  /** 401 of the increase-request endpoint: only a customer may ask. */
  increaseNeedsKey: (docsUrl: string): Problem => ({
    type: `${docsUrl}#increase-requests`,
    title: 'API key required',
    status: 401,
    detail: 'Send the API key of the customer asking: Authorization: Bearer <key> or X-API-Key.',
  }),
  /** 503: the counts could not be read or the policy fails closed. */
  storeUnavailable: (docsUrl: string, detail: string, extra: Record<string, unknown> = {}) => ({
    type: `${docsUrl}#store-unavailable`,
    title: 'Rate limit store unavailable',
    status: 503,
    detail,
    ...extra,
  }),
  usageUnavailable: (source: string) =>
    blank(
      502,
      'Usage history unavailable',
      `The ${source} usage source could not answer. Retry shortly.`,
    ),
  misconfigured: (message: string) => blank(500, 'Rate limiter misconfigured', message),
  internal: () =>
    blank(500, 'Internal error', 'The rate limiter failed unexpectedly; the incident was logged.'),
  /** The 429 body for a rejected decision, in the shape of draft-11's quota-exceeded type. */
  quotaExceeded: (decision: Decision, docsUrl: string, subject: string): Problem => {
    const top = blockingWindow(decision);
    const retryAt = decision.retryAt ?? decision.now + 1000;
    const retryAfter = Math.max(1, secondsUntil(retryAt, decision.now));
    const violated = decision.windows.filter((w) => w.retryAt > decision.now).map((w) => w.id);
    const what = top
      ? `${top.limit} request${top.limit === 1 ? '' : 's'} per ${top.window}${top.rule ? ` on ${top.rule}` : ''}`
      : 'the rate limit';
    return {
      type: QUOTA_EXCEEDED_TYPE,
      title: 'Request cannot be satisfied as assigned quota has been exceeded',
      status: 429,
      detail: `Rate limit exceeded for ${subject}: ${what}. Retry in ${retryAfter} s.`,
      'violated-policies': violated,
      limit: top?.limit,
      window: top?.window,
      retryAfter,
      retryAt: new Date(Math.ceil(retryAt / 1000) * 1000).toISOString(),
      documentation: docsUrl,
    };
  },
} as const;

/** The 429 body for a rejected decision (see {@link problems}.quotaExceeded). */
export const quotaExceeded = problems.quotaExceeded;
