/**
 * `edgelimit/client`: wraps `fetch` so a client honours rate limits instead of hammering them.
 * Retries a 429/503 after its `Retry-After` within a budget, and (with `pace`) waits out an
 * exhausted window before sending. Needs nothing but `fetch`: Node 20+, browsers, Workers.
 */
import { quotaFromHeaders, retryAfterMs, type WindowQuota } from './quota-headers.js';

export type { WindowQuota } from './quota-headers.js';

/** Any `fetch`-compatible function. */
export type FetchLike = (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;

/** Options of {@link withRateLimits}. */
export interface RateLimitOptions {
  /** Retries after a 429 or 503 with `Retry-After`, per call; default 2. `0` never retries. */
  readonly maxRetries?: number;
  /**
   * Longest total wait per call, ms, for retries and pacing together; default 30000. A wait that
   * would exceed it is not taken: the 429 is returned (or the request sent) at once.
   */
  readonly maxWaitMs?: number;
  /** Up to this many ms, at random, are added to every wait so clients do not retry in step; default 250. */
  readonly jitterMs?: number;
  /**
   * When a window's last announced quota is used up, wait until it announced more quota before
   * sending, so the request is not refused at all; default false.
   */
  readonly pace?: boolean;
  /**
   * Retry non-idempotent methods (POST, PATCH, ...) too; default false. A 429 from edgelimit means
   * the origin never saw the request, but other servers may not promise that.
   */
  readonly retryNonIdempotent?: boolean;
  /** Random source in [0, 1) for jitter; default `Math.random`. */
  readonly random?: () => number;
  /** Clock, epoch ms; default `Date.now`. */
  readonly now?: () => number;
  /** Waits `ms`, rejecting when `signal` aborts; default a `setTimeout`. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** A wrapped fetch: call it like `fetch`; read the quota it last saw with `quota()`. */
export interface RateLimitedFetch extends FetchLike {
  /**
   * The windows the server at `origin` (e.g. `https://api.example.com`) last announced; default
   * the origin of the most recent response. Empty until a response carried quota headers.
   */
  quota(origin?: string): WindowQuota[];
}

/** RFC 9110 §9.2.2: methods whose repetition has the same effect as one request. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
/** Statuses whose `Retry-After` says when to come back (RFC 6585 §4, RFC 9110 §15.6.4). */
const RETRY_STATUSES = new Set([429, 503]);

/**
 * Wraps `fetchImpl` with rate-limit awareness.
 * @example
 * import { withRateLimits } from 'edgelimit/client';
 * const api = withRateLimits(fetch, { pace: true });
 * const res = await api('https://api.example.com/v1/things', { headers: { 'X-API-Key': key } });
 * console.log(api.quota()); // [{ id: 'minute', limit: 100, remaining: 99, resetAt: ... }]
 */
export function withRateLimits(
  fetchImpl: FetchLike,
  options: RateLimitOptions = {},
): RateLimitedFetch {
  const maxRetries = nonNegative('maxRetries', options.maxRetries ?? 2);
  const maxWaitMs = nonNegative('maxWaitMs', options.maxWaitMs ?? 30_000);
  const jitterMs = nonNegative('jitterMs', options.jitterMs ?? 250);
  const pace = options.pace ?? false;
  const retryAll = options.retryNonIdempotent ?? false;
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  if (typeof fetchImpl !== 'function')
    throw new TypeError('withRateLimits: fetch must be a function');

  const origins = new Map<string, { windows: WindowQuota[]; inFlight: number }>();
  let lastOrigin: string | undefined;
  const stateOf = (origin: string) => {
    let state = origins.get(origin);
    if (!state) {
      state = { windows: [], inFlight: 0 };
      origins.set(origin, state);
    }
    return state;
  };
  const jitter = () => Math.floor(random() * jitterMs);

  const limited = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = input instanceof Request ? input : undefined;
    const url = new URL(request ? request.url : String(input));
    const method = (init?.method ?? request?.method ?? 'GET').toUpperCase();
    const signal = init?.signal ?? request?.signal ?? undefined;
    // A stream body can be sent once; anything else (or a Request, cloned) can be sent again.
    const replayable = !(init?.body instanceof ReadableStream);
    const retries = replayable && (retryAll || IDEMPOTENT.has(method)) ? maxRetries : 0;
    const state = stateOf(url.origin);
    let waited = 0;

    for (let attempt = 0; ; attempt++) {
      if (pace) {
        const wait = paceDelay(state.windows, state.inFlight, now());
        if (wait > 0 && waited + wait <= maxWaitMs) {
          const ms = wait + jitter();
          await sleep(ms, signal);
          waited += ms;
        }
      }
      const last = attempt >= retries;
      state.inFlight++;
      let response: Response;
      try {
        response = await fetchImpl(request && !last ? request.clone() : (request ?? input), init);
      } finally {
        state.inFlight--;
      }
      const seen = quotaFromHeaders(response.headers, now());
      if (seen.length) state.windows = seen;
      lastOrigin = url.origin;
      if (last || !RETRY_STATUSES.has(response.status)) return response;
      const after = retryAfterMs(response.headers.get('retry-after'), now());
      if (after === undefined) return response;
      const ms = after + jitter();
      if (waited + ms > maxWaitMs) return response;
      await response.body?.cancel();
      await sleep(ms, signal);
      waited += ms;
    }
  };

  return Object.assign(limited, {
    quota: (origin?: string) => {
      const key = origin === undefined ? lastOrigin : new URL(origin).origin;
      return key === undefined ? [] : [...(origins.get(key)?.windows ?? [])];
    },
  });
}

/**
 * Milliseconds to wait before sending: until the latest reset among windows whose announced
 * quota is used up, counting requests already in flight against it; 0 when none is.
 */
export function paceDelay(windows: readonly WindowQuota[], inFlight: number, now: number): number {
  let until = now;
  for (const w of windows) {
    if (w.remaining - inFlight <= 0 && w.resetAt > until) until = w.resetAt;
  }
  return until - now;
}

function nonNegative(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`withRateLimits: ${name} must be a finite number >= 0, got ${value}`);
  }
  return value;
}

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
