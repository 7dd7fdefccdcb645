/** Pure statistics for the benchmark: percentiles, overheads, run-to-run drift, accuracy scores. */
import { exactSlidingLog } from '../lib/exact-log';

/** Percentiles and spread of one series of latencies, in ms. */
export interface Summary {
  readonly n: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly mean: number;
  readonly max: number;
}

/**
 * The `p`-th percentile (0-100) of an ascending array, interpolated linearly between the two
 * closest ranks (the usual "type 7" definition), so small samples do not jump from rank to rank.
 * @throws RangeError on an empty array or `p` outside 0-100.
 * @example percentile([1, 2, 3, 4], 50) // 2.5
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new RangeError('percentile of an empty series');
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be 0-100, got ${p}`);
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const a = sorted[lo] ?? 0;
  const b = sorted[hi] ?? a;
  return a + (b - a) * (rank - lo);
}

/**
 * Summarizes a series (any order; not mutated).
 * @example summarize([3, 1, 2]).p50 // 2
 */
export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const sum = sorted.reduce((s, x) => s + x, 0);
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    mean: sum / sorted.length,
    max: sorted[sorted.length - 1] ?? 0,
  };
}

/**
 * What readings of a clock that moves in whole steps (workerd's `performance.now()` moves in
 * 1 ms steps) can prove about the durations they time. A reading `r` (end minus start, a whole
 * number of steps) means a duration between `r - step` and `r + step`: a 0 reading is certainly
 * under one step, a reading of two steps certainly over one. The mean of such readings, taken at
 * random phases of the clock, is an unbiased estimate of the mean duration.
 */
export interface SteppedReadings {
  /** Every reading is a whole number of steps (else the clock is fine enough to read directly). */
  readonly stepped: boolean;
  /** Share (0..1) of readings whose duration is certainly below `boundMs` (`r + step <= bound`). */
  readonly certainlyUnder: number;
  /** Share (0..1) of readings whose duration is certainly above `boundMs` (`r - step >= bound`). */
  readonly certainlyOver: number;
  /** Mean reading, ms. */
  readonly mean: number;
}

/**
 * Reads a series of stepped-clock durations against a bound (see {@link SteppedReadings}).
 * @example steppedReadings([0, 0, 1, 0], 1, 1) // { stepped: true, certainlyUnder: 0.75, certainlyOver: 0, mean: 0.25 }
 */
export function steppedReadings(
  readings: readonly number[],
  stepMs: number,
  boundMs: number,
): SteppedReadings {
  const n = Math.max(1, readings.length);
  const whole = (r: number) => Math.abs(r / stepMs - Math.round(r / stepMs)) < 1e-9;
  return {
    stepped: readings.length > 0 && readings.every(whole),
    certainlyUnder: readings.filter((r) => r + stepMs <= boundMs + 1e-9).length / n,
    certainlyOver: readings.filter((r) => r - stepMs >= boundMs - 1e-9).length / n,
    mean: readings.reduce((sum, r) => sum + r, 0) / n,
  };
}

/**
 * Whether stepped readings show the p-th percentile (e.g. 99) of the durations below the bound:
 * `true` when at least p% are certainly under it, `false` when more than (100 - p)% are
 * certainly over it, `null` when the clock's step cannot tell.
 */
export function percentileUnderBound(readings: SteppedReadings, p: number): boolean | null {
  if (readings.certainlyUnder >= p / 100) return true;
  if (readings.certainlyOver > 1 - p / 100) return false;
  return null;
}

/** What the limiter adds on top of a bypassed request, in ms. */
export interface Overhead {
  /** p50 of the limited series minus p50 of the bypassed series. */
  readonly p50: number;
  /** p99 of the limited series minus p99 of the bypassed series. */
  readonly p99: number;
  /** Median of the per-pair differences (limited minus the bypassed request next to it). */
  readonly pairedP50: number;
}

/**
 * The overhead of `limited` against `bypassed`, measured as interleaved pairs: percentiles are
 * compared side by side (a p99 of pair differences would add the two series' noise together),
 * and the median of the pair differences is kept as a drift-free cross-check.
 * @example overhead([2, 2, 3], [1, 1, 1]).p50 // 1
 */
export function overhead(limited: readonly number[], bypassed: readonly number[]): Overhead {
  const l = summarize(limited);
  const b = summarize(bypassed);
  const n = Math.min(limited.length, bypassed.length);
  const diffs: number[] = [];
  for (let i = 0; i < n; i++) diffs.push((limited[i] ?? 0) - (bypassed[i] ?? 0));
  return {
    p50: l.p50 - b.p50,
    p99: l.p99 - b.p99,
    pairedP50: diffs.length ? summarize(diffs).p50 : 0,
  };
}

/**
 * How far two measurements of the same quantity are apart, in the unit of the quantity; the
 * benchmark prints it beside each repeated cell so a reader can tell signal from noise.
 * @example drift(1.0, 1.3) // 0.3
 */
export function drift(first: number, second: number): number {
  return Math.abs(second - first);
}

/** How a limiter's decisions on one trace compare with the exact sliding log. */
export interface AccuracyScore {
  readonly requests: number;
  readonly allowed: number;
  /** Allowed by an exact sliding log deciding the same trace on its own. */
  readonly exactAllowed: number;
  /** Most requests the limiter allowed in any sliding window, minus the limit (0 when never over). */
  readonly overshoot: number;
  /** Allowed requests that found `limit` already allowed in `(t - W, t]` of the limiter's own history. */
  readonly overLimit: number;
  /** Rejected requests the independent exact log allowed, % of requests. */
  readonly falseRejectionPct: number;
  /** Rejected requests that found fewer than `limit` allowed in the limiter's own history, %. */
  readonly unjustRejectionPct: number;
  /**
   * Real-clock runs only: overshoot that holds whenever inside its round trip each request was
   * decided (see {@link provableOvershoot}); `overshoot` above uses send times and can blame a
   * limiter for network jitter.
   */
  readonly provableOvershoot?: number;
}

/**
 * Most allowed requests that certainly fell in one sliding window, minus `limit` (0 when never
 * over). A request sent at `sent[i]` and answered at `received[i]` was decided somewhere in
 * between, so it certainly lies in `(T - W, T]` only when `sent > T - W` and `received <= T`.
 * @example provableOvershoot([0, 1, 2], [1, 2, 3], [true, true, true], 2, 1000) // 1
 */
export function provableOvershoot(
  sent: readonly number[],
  received: readonly number[],
  allowed: readonly boolean[],
  limit: number,
  windowMs: number,
): number {
  const kept = sent
    .map((s, i) => ({ s, r: received[i] ?? s }))
    .filter((_, i) => allowed[i] === true);
  let most = 0;
  for (const { r: end } of kept) {
    const inside = kept.filter(({ s, r }) => s > end - windowMs && r <= end).length;
    most = Math.max(most, inside);
  }
  return Math.max(0, most - limit);
}

/**
 * Scores decisions (`allowed[i]` for a request at `times[i]`, ascending) against the exact sliding
 * log of `limit` per `windowMs`: judged on the limiter's own history (overshoot, over-limit,
 * unjust rejections) and against an exact log deciding the same trace alone (false rejections).
 * @throws RangeError when the two arrays differ in length.
 * @example scoreDecisions([0, 1, 2], [true, true, true], 2, 1000).overshoot // 1
 */
export function scoreDecisions(
  times: readonly number[],
  allowed: readonly boolean[],
  limit: number,
  windowMs: number,
): AccuracyScore {
  if (times.length !== allowed.length) {
    throw new RangeError(`${times.length} times but ${allowed.length} decisions`);
  }
  const own = exactSlidingLog(limit, windowMs);
  const fresh = exactSlidingLog(limit, windowMs);
  let allowedCount = 0;
  let exactAllowed = 0;
  let maxInWindow = 0;
  let overLimit = 0;
  let falseRejections = 0;
  let unjust = 0;
  times.forEach((t, i) => {
    const before = own.count(t);
    const ok = allowed[i] === true;
    if (ok) {
      allowedCount++;
      if (before >= limit) overLimit++;
      maxInWindow = Math.max(maxInWindow, before + 1);
      own.record(t);
    } else if (before < limit) {
      unjust++;
    }
    const exactOk = fresh.check(t);
    if (exactOk) exactAllowed++;
    if (exactOk && !ok) falseRejections++;
  });
  const pct = (n: number) => (100 * n) / Math.max(1, times.length);
  return {
    requests: times.length,
    allowed: allowedCount,
    exactAllowed,
    overshoot: Math.max(0, maxInWindow - limit),
    overLimit,
    falseRejectionPct: pct(falseRejections),
    unjustRejectionPct: pct(unjust),
  };
}
