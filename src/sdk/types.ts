/** The RPC contract between the limiter's `RateLimiter` entrypoint and the Workers that call it. */

/**
 * One request to decide, as the calling Worker saw it. Credentials are passed as the client sent
 * them; the limiter verifies them exactly as it verifies proxied requests.
 */
export interface CheckInput {
  /** The `X-API-Key` header, if any. */
  readonly apiKey?: string;
  /**
   * The raw `Authorization` header, if any. A `Bearer` token in it is read as the API key (and
   * must agree with `apiKey` when both are sent); other schemes are ignored.
   */
  readonly authorization?: string;
  /** The `X-Service-Token` header, if any: a valid one bypasses limiting. */
  readonly serviceToken?: string;
  /** The client address (`CF-Connecting-IP`); anonymous callers are limited per address. */
  readonly ip?: string;
  /** HTTP method, e.g. `GET`. */
  readonly method: string;
  /** Request path, e.g. `/v1/search` (a query string is ignored); matched by endpoint rules. */
  readonly path: string;
  /** Units the request consumes; default 1. */
  readonly cost?: number;
}

/**
 * How the request was decided: the proxy's outcomes, plus `unauthenticated` for credentials that
 * failed verification (a 401, or a 429 once the client IP's failed-attempts window is full).
 */
export type CheckOutcome =
  | 'allowed'
  | 'rejected'
  | 'bypassed'
  | 'failed-open'
  | 'failed-closed'
  | 'unauthenticated';

/** The verified caller behind a request, without any secret. */
export type VerifiedCaller =
  | { readonly kind: 'customer'; readonly customerId: string; readonly tier: string }
  | { readonly kind: 'service'; readonly service: string }
  | { readonly kind: 'anonymous'; readonly ip: string };

/** A value of a problem body's extension member. */
export type JsonValue = string | number | boolean | null | undefined | readonly string[];

/** An RFC 9457 problem body, as the proxy sends it with a 401, 429 or 503. */
export interface ProblemBody {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  /** Extension members, e.g. `violated-policies`, `retryAfter`, `documentation`. */
  readonly [extra: string]: JsonValue;
}

/** The decision for one request: what the proxy would answer or add to the origin's response. */
export interface CheckResult {
  readonly outcome: CheckOutcome;
  /** 200 when the request may proceed, else the status the proxy answers (401, 429, 503). */
  readonly status: number;
  /**
   * Exactly the headers the proxy adds to this response: `X-RateLimit-*`, `RateLimit` and
   * `RateLimit-Policy` (draft-11), `X-Edgelimit-*`, and on refusals `Retry-After` or
   * `WWW-Authenticate`.
   */
  readonly headers: Readonly<Record<string, string>>;
  /** Whole seconds to wait before retrying, when refused for quota or a failed-closed store. */
  readonly retryAfter?: number;
  /** The problem+json body of a refusal; absent when the request may proceed. */
  readonly problem?: ProblemBody;
  /** Who is calling, verified; absent when `outcome` is `unauthenticated`. */
  readonly caller?: VerifiedCaller;
}

/**
 * What a service binding to the limiter's `RateLimiter` entrypoint offers (declare the binding's
 * type as this interface, or as `Service<RateLimiter>` inside the limiter's own code).
 */
export interface RateLimiterBinding {
  /** Decides the request and consumes its quota, as the proxy would. */
  check(input: CheckInput): Promise<CheckResult>;
  /** The same decision without consuming anything: what `check` would say right now. */
  peek(input: CheckInput): Promise<CheckResult>;
}
