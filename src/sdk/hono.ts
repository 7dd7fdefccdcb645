/**
 * `edgelimit/hono`: Hono middleware for a Worker that calls the limiter through a service binding
 * to its `RateLimiter` entrypoint. Sets the rate-limit headers on every response, answers
 * 401/429/503 with the limiter's problem body, and puts the decision on `c.var.edgelimit`.
 */
import type { Context, Env, MiddlewareHandler } from 'hono';
import type { CheckInput, CheckResult, RateLimiterBinding } from './types.js';

export type {
  CheckInput,
  CheckOutcome,
  CheckResult,
  ProblemBody,
  RateLimiterBinding,
  VerifiedCaller,
} from './types.js';

/** What the middleware puts on `c.var`: `c.var.edgelimit.caller` is the verified caller. */
export interface RateLimitVariables {
  edgelimit: CheckResult;
}

declare module 'hono' {
  // Typed on every context once this module is imported, as Hono's own middleware do.
  interface ContextVariableMap extends RateLimitVariables {}
}

/** Options of {@link rateLimit}. */
export interface RateLimitMiddlewareOptions<E extends Env> {
  /** The service binding to the limiter, e.g. `(c) => c.env.EDGELIMIT`. */
  readonly binding: (c: Context<E>) => Pick<RateLimiterBinding, 'check'>;
  /** Units a request consumes; default 1. */
  readonly cost?: number | ((c: Context<E>) => number);
  /**
   * What to send the limiter; default {@link requestInput}: the request's credentials,
   * `CF-Connecting-IP`, method and path, so decisions match the proxy's for the same request.
   */
  readonly input?: (c: Context<E>) => CheckInput;
  /**
   * When the limiter itself cannot be reached: `open` (default) lets the request through without
   * rate-limit headers (`c.var.edgelimit.outcome` is `failed-open`) and logs the error; `closed`
   * answers 503.
   */
  readonly onUnavailable?: 'open' | 'closed';
}

/**
 * Rate-limits every request it sees through the limiter's `check()`.
 * @example
 * import { rateLimit, type RateLimitVariables, type RateLimiterBinding } from 'edgelimit/hono';
 * const app = new Hono<{ Bindings: { EDGELIMIT: RateLimiterBinding }; Variables: RateLimitVariables }>();
 * app.use('/v1/*', rateLimit({ binding: (c) => c.env.EDGELIMIT }));
 * app.get('/v1/things', (c) => c.json({ caller: c.var.edgelimit.caller }));
 */
// biome-ignore lint/suspicious/noExplicitAny: Hono's own default; `rateLimit<AppEnv>()` types `c.env`.
export function rateLimit<E extends Env = any>(
  options: RateLimitMiddlewareOptions<E>,
): MiddlewareHandler<E> {
  if (typeof options?.binding !== 'function') {
    throw new TypeError('rateLimit: `binding` must be a function returning the service binding');
  }
  const { cost } = options;
  if (typeof cost === 'number' && !(Number.isInteger(cost) && cost >= 1)) {
    throw new RangeError(`rateLimit: \`cost\` must be a positive integer, got ${cost}`);
  }
  const onUnavailable = options.onUnavailable ?? 'open';
  if (onUnavailable !== 'open' && onUnavailable !== 'closed') {
    throw new RangeError('rateLimit: `onUnavailable` must be "open" or "closed"');
  }
  const inputOf = options.input ?? requestInput;

  return async function edgelimitRateLimit(c, next) {
    const units = typeof cost === 'function' ? cost(c) : cost;
    let result: CheckResult;
    try {
      result = await options
        .binding(c)
        .check({ ...inputOf(c), ...(units !== undefined ? { cost: units } : {}) });
    } catch (error) {
      console.error(JSON.stringify({ event: 'edgelimit-unavailable', message: String(error) }));
      if (onUnavailable === 'open') {
        c.set('edgelimit', { outcome: 'failed-open', status: 200, headers: {} });
        return next();
      }
      return problem(
        503,
        {
          type: 'about:blank',
          title: 'Rate limiter unavailable',
          status: 503,
          detail: 'The rate limiter could not be reached and this API fails closed. Retry shortly.',
        },
        { 'Retry-After': '1' },
      );
    }
    c.set('edgelimit', result);
    if (result.problem) return problem(result.status, result.problem, result.headers);
    await next();
    setHeaders(c, result.headers);
  };
}

/**
 * The limiter input of a request: `X-API-Key`, `Authorization`, `X-Service-Token`,
 * `CF-Connecting-IP`, the method and the URL path.
 */
export function requestInput<E extends Env>(c: Context<E>): CheckInput {
  const header = (name: string) => c.req.header(name);
  const input: Record<string, string> = {};
  const apiKey = header('x-api-key');
  const authorization = header('authorization');
  const serviceToken = header('x-service-token');
  const ip = header('cf-connecting-ip');
  if (apiKey !== undefined) input.apiKey = apiKey;
  if (authorization !== undefined) input.authorization = authorization;
  if (serviceToken !== undefined) input.serviceToken = serviceToken;
  if (ip !== undefined) input.ip = ip;
  return { ...input, method: c.req.method, path: new URL(c.req.url).pathname };
}

function problem(
  status: number,
  body: object,
  headers: Readonly<Record<string, string>>,
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { ...headers, 'Content-Type': 'application/problem+json' },
  });
}

/** Adds headers to the handler's response, copying it first when its headers are immutable. */
function setHeaders(c: Context, headers: Readonly<Record<string, string>>): void {
  try {
    for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
  } catch {
    // A response straight from fetch() has immutable headers.
    const copy = new Response(c.res.body, c.res);
    for (const [name, value] of Object.entries(headers)) copy.headers.set(name, value);
    c.res = copy;
  }
}
