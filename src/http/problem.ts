/** RFC 9457 problem+json responses, in the shape of draft-11's quota-exceeded problem type. */
import type { Decision } from '../limiter/decide';
import { blockingWindow, secondsUntil } from './rate-limit-headers';

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

/** A problem+json response. */
export function problemResponse(problem: Problem, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(problem), {
    status: problem.status,
    headers: { 'Content-Type': 'application/problem+json', ...headers },
  });
}

/** The 429 body for a rejected decision. */
export function quotaExceeded(decision: Decision, docsUrl: string, subject: string): Problem {
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
}
