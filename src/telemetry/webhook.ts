/** Posts alerts to the webhook with bounded retries and exponential backoff; never throws. */
import { sleep } from '../deadline';

/** Options of {@link postWithRetry}. */
export interface RetryOptions {
  /** Total attempts, first included; default 4. */
  readonly attempts?: number;
  /** Delay before the second attempt; doubles after each failure. Default 500 ms. */
  readonly baseDelayMs?: number;
  /** Per-attempt time budget; default 5 s. */
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** How a delivery ended. */
export interface DeliveryResult {
  readonly delivered: boolean;
  readonly attempts: number;
  /** Last HTTP status, or the error message when there was no answer. */
  readonly last: number | string;
}

/**
 * POSTs `body` as JSON to `url`. Retries on network errors, timeouts, 429 and 5xx, waiting
 * `baseDelayMs * 2^n` between attempts; gives up after `attempts`. Other 4xx are not retried: the
 * receiver said the request itself is wrong.
 * @example await postWithRetry(env.ALERT_WEBHOOK_URL, { text: 'hello' })
 */
export async function postWithRetry(
  url: string,
  body: unknown,
  options: RetryOptions = {},
): Promise<DeliveryResult> {
  const attempts = Math.max(1, options.attempts ?? 4);
  const base = options.baseDelayMs ?? 500;
  const doFetch = options.fetch ?? fetch;
  const wait = options.sleep ?? sleep;
  const payload = JSON.stringify(body);
  let last: number | string = 'not attempted';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const response = await doFetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: payload,
        signal: AbortSignal.timeout(options.timeoutMs ?? 5_000),
      });
      // Drain the body so the connection can be reused.
      await response.body?.cancel();
      last = response.status;
      if (response.ok) return { delivered: true, attempts: attempt, last };
      if (response.status !== 429 && response.status < 500) {
        return { delivered: false, attempts: attempt, last };
      }
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    if (attempt < attempts) await wait(base * 2 ** (attempt - 1));
  }
  return { delivered: false, attempts, last };
}
