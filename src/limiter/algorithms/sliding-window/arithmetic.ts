/**
 * Sliding-window arithmetic over bucketed counters: pure, the sliding window algorithm's decision,
 * mirrored line for line by its Lua script (`script.ts`).
 *
 * The reference is the exact sliding log: a request at `t` is allowed when fewer than `limit`
 * requests were allowed in `(t - window, t]`.
 *
 * - Limits up to `EXACT_UP_TO` use 1 ms buckets: that *is* the exact sliding log at millisecond
 *   resolution, and it stays small because a window can never hold more non-empty buckets than
 *   its limit.
 * - Larger limits use `BUCKETS_PER_WINDOW` buckets per window and count the whole bucket that
 *   straddles the window's trailing edge. The counted set is always a superset of the exact
 *   window, so we never allow more than the limit in any sliding window (no boundary attack,
 *   unlike the weighted two-window estimate); the price is that a request may be counted up to
 *   one bucket (window / 1000) longer than the exact log would count it.
 */
import { type CheckOutcome, type WindowSpec, type WindowState, windowState } from '../../contract';

/** Limits up to this many units per window are kept exactly (1 ms buckets). */
export const EXACT_UP_TO = 1000;

/** Buckets per window above `EXACT_UP_TO`: memory (one hash field each) against early expiry. */
export const BUCKETS_PER_WINDOW = 1000;

/** Counts per bucket index for one window. Bucket `b` holds times in `[b*w, (b+1)*w)`. */
export type Buckets = Map<number, number>;

/**
 * Width of one bucket in ms: 1 ms (exact) for limits up to `EXACT_UP_TO`, else window / 1000.
 * Every helper below takes the window's `limit` for this reason; omitted, it means "large".
 */
export function bucketWidth(windowMs: number, limit = Number.POSITIVE_INFINITY): number {
  if (limit <= EXACT_UP_TO) return 1;
  return Math.max(1, Math.ceil(windowMs / BUCKETS_PER_WINDOW));
}

/** Index of the oldest bucket that still counts at `now` (it holds the time `now - window + 1`). */
export function oldestBucket(now: number, windowMs: number, limit?: number): number {
  return Math.floor((now - windowMs + 1) / bucketWidth(windowMs, limit));
}

/** Index of the bucket a request at `now` is recorded in. */
export function currentBucket(now: number, windowMs: number, limit?: number): number {
  return Math.floor(now / bucketWidth(windowMs, limit));
}

/** Epoch ms from which bucket `b` no longer counts. */
export function bucketExpiry(b: number, windowMs: number, limit?: number): number {
  return (b + 1) * bucketWidth(windowMs, limit) + windowMs - 1;
}

/** Drops buckets that no longer count at `now`. Mutates and returns `buckets`. */
export function prune(buckets: Buckets, now: number, windowMs: number, limit?: number): Buckets {
  const oldest = oldestBucket(now, windowMs, limit);
  for (const b of buckets.keys()) if (b < oldest) buckets.delete(b);
  return buckets;
}

/**
 * Evaluates one window at `now` for a request of `cost` units, without recording it.
 * `buckets` must already be pruned for `now`.
 */
export function evaluate(
  spec: WindowSpec,
  buckets: Buckets,
  now: number,
  cost: number,
): WindowState & { allowed: boolean } {
  // One pass for the count and the oldest bucket; sorting only when we must find the retry time.
  let used = 0;
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const [b, n] of buckets) {
    if (n <= 0) continue;
    used += n;
    if (b < first) first = b;
    if (b > last) last = b;
  }
  const allowed = used + cost <= spec.limit;
  let retryAt = now;
  if (!allowed) {
    retryAt = Number.POSITIVE_INFINITY;
    const ordered = [...buckets.entries()].filter(([, n]) => n > 0).sort((a, b) => a[0] - b[0]);
    let left = used;
    for (const [b, n] of ordered) {
      left -= n;
      if (left + cost <= spec.limit) {
        retryAt = bucketExpiry(b, spec.windowMs, spec.limit);
        break;
      }
    }
  }
  const resetAt = used > 0 ? bucketExpiry(first, spec.windowMs, spec.limit) : now;
  const fullAt = used > 0 ? bucketExpiry(last, spec.windowMs, spec.limit) : now;
  return { ...windowState(spec, used, retryAt, resetAt), fullAt, allowed };
}

/** Adds `cost` units at `now`. Mutates `buckets`. */
export function record(
  buckets: Buckets,
  now: number,
  windowMs: number,
  cost: number,
  limit?: number,
): void {
  const b = currentBucket(now, windowMs, limit);
  buckets.set(b, (buckets.get(b) ?? 0) + cost);
}

/**
 * Checks all windows of one request and records it in every window only if every window allows
 * it (all or nothing). `counters` maps window id to its buckets and is mutated.
 */
export function checkAll(
  specs: readonly WindowSpec[],
  counters: Map<string, Buckets>,
  now: number,
  cost = 1,
  consume = true,
): CheckOutcome {
  const states = specs.map((spec) => {
    let buckets = counters.get(spec.id);
    if (!buckets) {
      buckets = new Map();
      counters.set(spec.id, buckets);
    }
    prune(buckets, now, spec.windowMs, spec.limit);
    return evaluate(spec, buckets, now, cost);
  });
  const allowed = states.every((s) => s.allowed);
  if (!allowed || !consume || cost === 0) {
    return { allowed, now, windows: states.map(stripAllowed) };
  }
  const windows = specs.map((spec, i) => {
    const buckets = counters.get(spec.id) ?? new Map<number, number>();
    record(buckets, now, spec.windowMs, cost, spec.limit);
    const before = states[i];
    const used = (before?.used ?? 0) + cost;
    const resetAt =
      before && before.used > 0
        ? before.resetAt
        : bucketExpiry(currentBucket(now, spec.windowMs, spec.limit), spec.windowMs, spec.limit);
    return windowState(spec, used, now, resetAt);
  });
  return { allowed, now, windows };
}

function stripAllowed({
  allowed: _allowed,
  ...state
}: WindowState & { allowed: boolean }): WindowState {
  return state;
}
