/**
 * The `RateLimiter` RPC entrypoint: other Workers reach the limiter through a service binding and
 * get the proxy's own decision (same identity, policy, endpoint rules, telemetry and alerts)
 * without an HTTP round trip.
 */
import { WorkerEntrypoint } from 'cloudflare:workers';
import { z } from 'zod';
import { ensureDemoData } from '../demo-seed';
import { type Bindings, readSettings } from '../env';
import { checkRequest, decisionReporter, type Verdict } from '../http/check-request';
import { describeIssues } from '../policy/records';
import type {
  CheckInput,
  CheckResult,
  ProblemBody,
  RateLimiterBinding,
  VerifiedCaller,
} from '../sdk/types';
import { getServices } from '../services';

/** A header value workerd accepts: no CR, LF or NUL; bounded so hostile input stays cheap. */
const headerValue = z
  .string()
  .max(4096)
  .regex(/^[^\r\n\0]*$/, 'must not contain CR, LF or NUL');

/** The RPC input, validated at the boundary like every HTTP body. */
export const checkInputSchema = z.strictObject({
  apiKey: headerValue.optional(),
  authorization: headerValue.optional(),
  serviceToken: headerValue.optional(),
  ip: headerValue.max(64).optional(),
  // An RFC 9110 token, passed through unchanged, as the proxy sees `request.method`.
  method: z
    .string()
    .min(1)
    .max(32)
    .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'must be an HTTP method token'),
  path: z.string().min(1).max(8192).startsWith('/', 'must start with /'),
  cost: z.number().int().min(1).max(1_000_000).optional(),
});

/** The input was not a valid {@link CheckInput}; the message names every bad field. */
export class CheckInputError extends TypeError {
  override readonly name = 'CheckInputError';
}

/**
 * The limiter as an RPC service. Bind it from another Worker's wrangler.toml:
 * `services = [{ binding = "EDGELIMIT", service = "edgelimit", entrypoint = "RateLimiter" }]`.
 * @example
 * const result = await env.EDGELIMIT.check({ apiKey, ip, method: 'GET', path: '/v1/things' });
 * if (result.problem) return Response.json(result.problem, { status: result.status, headers: result.headers });
 */
export class RateLimiter extends WorkerEntrypoint<Bindings> implements RateLimiterBinding {
  /** Decides the request and consumes its quota, exactly as the proxy would. */
  async check(input: CheckInput): Promise<CheckResult> {
    return this.decide(input, true);
  }

  /**
   * The same decision without consuming: what `check` would answer now (the `/rate_limit` view).
   * `remaining` is what is left before this request. A bad credential still counts against the
   * client IP's failed-attempts window, as on `/rate_limit`.
   */
  async peek(input: CheckInput): Promise<CheckResult> {
    return this.decide(input, false);
  }

  private async decide(raw: CheckInput, consume: boolean): Promise<CheckResult> {
    const parsed = checkInputSchema.safeParse(raw);
    if (!parsed.success) {
      throw new CheckInputError(`invalid check input: ${describeIssues(parsed.error)}`);
    }
    const input = parsed.data;
    if (readSettings(this.env).seedDemo) await ensureDemoData(this.env);
    const services = getServices(this.env);
    const verdict = await checkRequest(services, {
      headers: requestHeaders(input),
      method: input.method,
      // Parsed as the proxy parses a request line: dot segments and escapes resolve the same way.
      path: new URL(`http://rpc.invalid${input.path}`).pathname,
      ...(input.cost !== undefined ? { cost: input.cost } : {}),
      consume,
    });
    if (verdict.event) {
      const report = decisionReporter(services, (work) => this.ctx.waitUntil(work));
      report({ ...verdict.event, status: verdict.status });
    }
    return resultOf(verdict);
  }
}

/** The headers a proxied request with these credentials would carry. */
function requestHeaders(input: z.infer<typeof checkInputSchema>): Headers {
  const headers = new Headers();
  if (input.apiKey !== undefined) headers.set('X-API-Key', input.apiKey);
  if (input.authorization !== undefined) headers.set('Authorization', input.authorization);
  if (input.serviceToken !== undefined) headers.set('X-Service-Token', input.serviceToken);
  if (input.ip !== undefined) headers.set('CF-Connecting-IP', input.ip);
  return headers;
}

/** The wire form of a verdict: plain data, no key hashes. */
export function resultOf(verdict: Verdict): CheckResult {
  const retryAfter = verdict.headers['Retry-After'];
  return {
    outcome: verdict.outcome,
    status: verdict.status,
    headers: verdict.headers,
    ...(retryAfter !== undefined ? { retryAfter: Number(retryAfter) } : {}),
    // Problem bodies are built from strings, numbers and string lists only (http/problem.ts).
    ...(verdict.problem ? { problem: verdict.problem as ProblemBody } : {}),
    ...(verdict.caller ? { caller: publicCaller(verdict.caller, verdict.tier) } : {}),
  };
}

function publicCaller(caller: NonNullable<Verdict['caller']>, tier: string): VerifiedCaller {
  switch (caller.kind) {
    case 'customer':
      return { kind: 'customer', customerId: caller.customerId, tier };
    case 'service':
      return { kind: 'service', service: caller.service };
    case 'anonymous':
      return { kind: 'anonymous', ip: caller.ip };
  }
}
