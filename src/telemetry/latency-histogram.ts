/** Latency histograms that merge across isolates and minutes: pure, so percentiles are testable. */

/** Count per bucket upper bound (ms), keys as strings so the map survives JSON. */
export type Histogram = Record<string, number>;

/**
 * The bucket a latency falls in, as its upper bound: 1 ms steps to 20 ms, 5 ms to 100 ms, 50 ms to
 * 1 s, then 500 ms. Worker timers advance in whole ms, so short latencies are recorded exactly.
 */
export function latencyBucket(ms: number): number {
  if (!Number.isFinite(ms) || ms <= 0) return 0;
  if (ms <= 20) return Math.ceil(ms);
  if (ms <= 100) return Math.ceil(ms / 5) * 5;
  if (ms <= 1000) return Math.ceil(ms / 50) * 50;
  return Math.ceil(ms / 500) * 500;
}

/** Adds one observation. Mutates and returns `h`. */
export function observe(h: Histogram, ms: number, count = 1): Histogram {
  const key = String(latencyBucket(ms));
  h[key] = (h[key] ?? 0) + count;
  return h;
}

/** Adds `b` into `a`. Mutates and returns `a`. */
export function mergeInto(a: Histogram, b: Histogram): Histogram {
  for (const [k, n] of Object.entries(b)) a[k] = (a[k] ?? 0) + n;
  return a;
}

/**
 * The `q` quantile (0..1) as the upper bound of the bucket holding it; 0 for an empty histogram.
 * Upper bounds, so a reported p99 is never lower than the true one.
 */
export function quantile(h: Histogram, q: number): number {
  const entries = Object.entries(h)
    .map(([k, n]) => [Number(k), n] as const)
    .filter(([, n]) => n > 0)
    .sort((a, b) => a[0] - b[0]);
  const total = entries.reduce((sum, [, n]) => sum + n, 0);
  if (total === 0) return 0;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (const [bound, n] of entries) {
    seen += n;
    if (seen >= rank) return bound;
  }
  return entries[entries.length - 1]?.[0] ?? 0;
}
