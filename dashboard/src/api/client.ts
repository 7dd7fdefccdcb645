/** Calls the worker's usage and metrics API and turns every failure into a readable {@link ApiError}. */
import type * as z from 'zod/mini';
import type { Resolution, UsageRange } from '../range';
import {
  type IncreaseRequest,
  increaseAcceptedSchema,
  type Metrics,
  metricsSchema,
  problemSchema,
  type RateLimitStatus,
  rateLimitSchema,
  type Usage,
  usageSchema,
} from './schemas';

/** Why a call failed, so views can react (a 401 signs the user out; a network error offers retry). */
export type ApiErrorKind =
  | 'unauthorized'
  | 'rate-limited'
  | 'bad-request'
  | 'network'
  | 'server'
  | 'invalid';

/** A failed API call with a message fit to show. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly kind: ApiErrorKind,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

const TIMEOUT_MS = 10_000;

/** A client bound to one API base and one credential. */
export interface ApiClient {
  rateLimit(): Promise<RateLimitStatus>;
  usage(range: UsageRange, resolution: Resolution): Promise<Usage>;
  requestIncrease(request: IncreaseRequest): Promise<void>;
  metrics(range: UsageRange, resolution: Resolution): Promise<Metrics>;
}

/**
 * Creates a client. The credential goes in `Authorization: Bearer`, which the usage API accepts
 * for API keys and the admin API for the admin token.
 * @example await createClient('http://127.0.0.1:8787', 'demo-free-key').rateLimit()
 */
export function createClient(apiBase: string, credential: string): ApiClient {
  const call = async <S extends z.ZodMiniType>(
    path: string,
    schema: S,
    init: RequestInit = {},
  ): Promise<z.infer<S>> => {
    const headers = new Headers(init.headers);
    headers.set('Authorization', `Bearer ${credential}`);
    headers.set('Accept', 'application/json');
    let res: Response;
    try {
      res = await fetch(`${apiBase}/_edgelimit${path}`, {
        ...init,
        headers,
        cache: 'no-store',
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch {
      throw new ApiError(
        'network',
        `Can't reach the edgelimit API at ${apiBase}. Check that the worker is running and that ` +
          'this dashboard is allowed by its DASHBOARD_ORIGIN setting.',
      );
    }
    const body: unknown = await res.json().catch(() => undefined);
    if (!res.ok) throw errorFor(res.status, body);
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      throw new ApiError(
        'invalid',
        `The API at ${apiBase} answered ${path} in an unexpected shape; is it an edgelimit worker?`,
        res.status,
      );
    }
    return parsed.data;
  };

  return {
    rateLimit: () => call('/rate_limit', rateLimitSchema),
    usage: (range, resolution) =>
      call(`/usage?${new URLSearchParams({ range, resolution })}`, usageSchema),
    metrics: (range, resolution) =>
      call(`/admin/metrics?${new URLSearchParams({ range, resolution })}`, metricsSchema),
    requestIncrease: async (request) => {
      await call('/usage/increase-request', increaseAcceptedSchema, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(request),
      });
    },
  };
}

/** Maps an HTTP failure to an error whose message a person can act on. */
function errorFor(status: number, body: unknown): ApiError {
  const problem = problemSchema.safeParse(body);
  const detail = problem.success ? (problem.data.detail ?? problem.data.title) : undefined;
  if (status === 401 || status === 403) {
    return new ApiError(
      'unauthorized',
      detail ? `Not signed in: ${detail}` : 'That credential was not accepted.',
      status,
    );
  }
  if (status === 429) {
    return new ApiError(
      'rate-limited',
      detail ?? 'Too many attempts from this address; wait a minute and try again.',
      status,
    );
  }
  if (status === 400 || status === 422) {
    return new ApiError('bad-request', detail ?? 'The request was refused as invalid.', status);
  }
  if (status === 404) {
    return new ApiError(
      'server',
      'This worker does not offer the usage API (404). Is it an up-to-date edgelimit worker?',
      status,
    );
  }
  return new ApiError(
    'server',
    detail ? `The API failed (${status}): ${detail}` : `The API failed with status ${status}.`,
    status,
  );
}
