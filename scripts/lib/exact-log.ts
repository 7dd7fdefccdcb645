/**
 * The exact sliding log: the reference every cheaper limiter is measured against (README, "The algorithm and its accuracy").
 * Pure, with no Workers imports, so Node scripts (accuracy, benchmark) and workerd tests share it.
 */

/** An exact sliding-log limiter over integer epoch-ms timestamps. */
export interface ExactSlidingLog {
  /**
   * Decides a request at `t` and records it when allowed: allowed when fewer than `limit`
   * requests were allowed in `(t - windowMs, t]`. Calls must come in non-decreasing `t`.
   */
  check(t: number): boolean;
  /** Requests allowed in `(t - windowMs, t]`, without recording anything. */
  count(t: number): number;
  /** Records a request at `t` without deciding it (to replay another limiter's history). */
  record(t: number): void;
}

/**
 * Creates an exact sliding log for one window.
 * @param limit - requests allowed per window; a positive integer.
 * @param windowMs - window length in ms; a positive integer.
 * @example
 * const log = exactSlidingLog(2, 1000);
 * [log.check(0), log.check(10), log.check(20), log.check(1000)] // [true, true, false, true]
 */
export function exactSlidingLog(limit: number, windowMs: number): ExactSlidingLog {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be >= 1: ${limit}`);
  if (!Number.isInteger(windowMs) || windowMs < 1) {
    throw new RangeError(`windowMs must be >= 1: ${windowMs}`);
  }
  // Allowed times in order; `head` skips the expired ones so each check is amortised O(1).
  const times: number[] = [];
  let head = 0;
  const expire = (t: number) => {
    while (head < times.length && (times[head] ?? 0) <= t - windowMs) head++;
    // Compact now and then so a long trace does not keep every timestamp alive.
    if (head > 1024 && head * 2 > times.length) {
      times.splice(0, head);
      head = 0;
    }
  };
  const count = (t: number) => {
    expire(t);
    let n = 0;
    for (let i = times.length - 1; i >= head && (times[i] ?? 0) > t - windowMs; i--) {
      if ((times[i] ?? 0) <= t) n++;
    }
    return n;
  };
  return {
    count,
    record(t) {
      times.push(t);
    },
    check(t) {
      if (count(t) >= limit) return false;
      times.push(t);
      return true;
    },
  };
}
