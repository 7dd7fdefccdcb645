/** Compares decisions made two ways (proxy, RPC, a Hono consumer) field by field. */
import { expect } from 'vitest';
import type { CheckInput, CheckResult } from '../../src/sdk/types';

/** Headers the limiter adds to an answer; everything else belongs to the origin or the app. */
export const LIMITER_HEADERS = [
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
  'ratelimit',
  'ratelimit-policy',
  'retry-after',
  'www-authenticate',
  'x-edgelimit-status',
  'x-edgelimit-shadow',
  'x-edgelimit-warning',
  'x-edgelimit-delay',
] as const;

/** The headers a request with `input`'s credentials carries. */
export function headersOf(input: CheckInput): Record<string, string> {
  const headers: Record<string, string> = {};
  if (input.apiKey !== undefined) headers['X-API-Key'] = input.apiKey;
  if (input.authorization !== undefined) headers.Authorization = input.authorization;
  if (input.serviceToken !== undefined) headers['X-Service-Token'] = input.serviceToken;
  if (input.ip !== undefined) headers['CF-Connecting-IP'] = input.ip;
  return headers;
}

/** A response read back as the decision it carries. */
export async function decisionOf(response: Response): Promise<CheckResult> {
  const headers: Record<string, string> = {};
  for (const name of LIMITER_HEADERS) {
    const value = response.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  const isProblem = response.headers.get('content-type') === 'application/problem+json';
  const problem = isProblem ? ((await response.json()) as CheckResult['problem']) : undefined;
  if (!isProblem) await response.body?.cancel();
  const retryAfter = headers['retry-after'];
  return {
    outcome: (headers['x-edgelimit-status'] ?? 'missing') as CheckResult['outcome'],
    status: isProblem ? response.status : 200,
    headers,
    ...(retryAfter !== undefined ? { retryAfter: Number(retryAfter) } : {}),
    ...(problem ? { problem } : {}),
  };
}

/** Sends `input` as an HTTP request through `fetch` and reads back the decision. */
export async function proxied(
  fetch: (path: string, init?: RequestInit) => Promise<Response>,
  input: CheckInput,
): Promise<CheckResult> {
  return decisionOf(await fetch(input.path, { method: input.method, headers: headersOf(input) }));
}

/** A decision and the names (customer id, IP) that differ between the two sides by design. */
export interface Side {
  readonly result: CheckResult;
  readonly names: readonly string[];
}

/**
 * Asserts two decisions are the same: status, outcome, every limiter header and the problem body,
 * with the sides' own names replaced by placeholders. Times (reset instants, `t`, Retry-After)
 * may differ by one second: the two requests are milliseconds apart and a whole-second value can
 * round across a boundary between them.
 */
export function expectSameDecision(actual: Side, expected: Side, label: string): void {
  const a = normalise(actual);
  const b = normalise(expected);
  expect(a.shape, label).toEqual(b.shape);
  expect(a.times.length, label).toBe(b.times.length);
  a.times.forEach((t, i) => {
    expect(Math.abs(t - (b.times[i] ?? Number.NaN)), `${label}: time #${i}`).toBeLessThanOrEqual(1);
  });
}

function normalise(side: Side): { shape: unknown; times: number[] } {
  const times: number[] = [];
  const time = (value: string) => {
    times.push(Number(value));
    return '#';
  };
  const scrub = (text: string) => {
    let out = text;
    side.names.forEach((name, i) => {
      out = out.replaceAll(name, `<name${i}>`);
    });
    // The proxy links the docs page on the host the request came to; an RPC call has no host,
    // so it links the page's path: the same page either way.
    out = out.replace(/^https?:\/\/[^/]+(?=\/\S*\/docs\/rate-limits)/, '');
    return out.replace(/\bt=(\d+)/g, (_, t: string) => `t=${time(t)}`);
  };
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(side.result.headers)) {
    const lower = name.toLowerCase();
    headers[lower] =
      lower === 'x-ratelimit-reset' || lower === 'retry-after' ? time(value) : scrub(value);
  }
  let problem: Record<string, unknown> | undefined;
  if (side.result.problem) {
    problem = {};
    for (const [field, value] of Object.entries(side.result.problem)) {
      if (field === 'retryAfter') problem[field] = time(String(value));
      else if (field === 'retryAt') problem[field] = time(String(Date.parse(String(value)) / 1000));
      else if (typeof value === 'string') {
        problem[field] = scrub(value).replace(
          /Retry in (\d+) s/,
          (_, n: string) => `Retry in ${time(n)} s`,
        );
      } else problem[field] = value;
    }
  }
  return {
    shape: {
      status: side.result.status,
      outcome: side.result.outcome,
      headers,
      retryAfter: side.result.retryAfter === undefined ? undefined : '#',
      problem,
    },
    times,
  };
}
