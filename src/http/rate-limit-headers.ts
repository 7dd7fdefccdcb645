/**
 * Rate limit response headers: pure formatting of a decision.
 *
 * - `X-RateLimit-Limit/-Remaining/-Reset` describe the window that blocks first. `Reset` is Unix
 *   seconds (rounded up) when more quota next becomes available in that window; on a 429 it is
 *   the same instant `Retry-After` points at.
 * - `RateLimit-Policy` and `RateLimit` follow draft-ietf-httpapi-ratelimit-headers-11 (Structured
 *   Field lists, one item per window). In draft-11 `t` is the seconds until *additional* quota is
 *   available, which is what a sliding window can promise; `r` is the remaining quota.
 */
import { blockingWindow, nextQuotaAt } from '../limiter/blocking-window';
import { isConcurrency } from '../limiter/contract';
import type { Decision, WindowResult } from '../limiter/decide';
import type { Throttle } from '../limiter/throttle';

/** Seconds from `now` to `at`, rounded up so a client never comes back too early. */
export function secondsUntil(at: number, now: number): number {
  return Math.max(0, Math.ceil((at - now) / 1000));
}

/** Headers for a decision; adds nothing for a bypass beyond saying so. */
export function rateLimitHeaders(decision: Decision): Record<string, string> {
  const headers: Record<string, string> = { 'X-Edgelimit-Status': decision.outcome };
  if (decision.outcome === 'bypassed') return headers;
  const top = blockingWindow(decision);
  if (top) {
    headers['X-RateLimit-Limit'] = String(top.limit);
    headers['X-RateLimit-Remaining'] = String(top.remaining);
    headers['X-RateLimit-Reset'] = String(Math.ceil(nextQuotaAt(top, decision.now) / 1000));
  }
  if (decision.windows.length) {
    headers['RateLimit-Policy'] = decision.windows.map(policyItem).join(', ');
    headers.RateLimit = decision.windows.map((w) => limitItem(w, decision.now)).join(', ');
  }
  // A request that can never pass gets no Retry-After: no wait would be true.
  if (
    decision.retryAt !== undefined &&
    Number.isFinite(decision.retryAt) &&
    decision.outcome !== 'allowed'
  ) {
    headers['Retry-After'] = String(Math.max(1, secondsUntil(decision.retryAt, decision.now)));
  }
  const tripped = decision.shadow.filter((w) => w.wouldReject).map((w) => w.id);
  if (decision.shadow.length) {
    headers['X-Edgelimit-Shadow'] = tripped.length ? `would-reject=${tripped.join(' ')}` : 'ok';
  }
  return headers;
}

/**
 * Graduated throttling headers, only past the soft threshold:
 * `X-Edgelimit-Warning: 85% of "minute" used` (integer percent, floored, of the window most used
 * relative to its limit, counting this request) and `X-Edgelimit-Delay: 250` (ms the worker held
 * the request before forwarding; absent when it did not wait).
 */
export function throttleHeaders(throttle: Throttle): Record<string, string> {
  const headers: Record<string, string> = {};
  if (throttle.warning) headers['X-Edgelimit-Warning'] = throttle.warning;
  if (throttle.delayMs > 0) headers['X-Edgelimit-Delay'] = String(throttle.delayMs);
  return headers;
}

/**
 * One `RateLimit-Policy` item. A concurrency limit has no window: draft-11's quota unit
 * `concurrent-requests` says `q` counts requests in flight at once, and `w` is left out.
 */
function policyItem(w: WindowResult): string {
  if (isConcurrency(w)) return `${sfString(w.id)};q=${w.limit};qu="concurrent-requests"`;
  return `${sfString(w.id)};q=${w.limit};w=${Math.ceil(w.windowMs / 1000)}`;
}

/** One `RateLimit` item: `r` left; `t` only for windows (a slot frees when a request ends). */
function limitItem(w: WindowResult, now: number): string {
  if (isConcurrency(w)) return `${sfString(w.id)};r=${w.remaining}`;
  return `${sfString(w.id)};r=${w.remaining};t=${secondsUntil(nextQuotaAt(w, now), now)}`;
}

/** An RFC 8941 sf-string: quoted, with `"` and `\` escaped. */
function sfString(value: string): string {
  if (!value.includes('"') && !value.includes('\\')) return `"${value}"`;
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
