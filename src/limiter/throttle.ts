/** Graduated throttling: how much to warn and slow an allowed request near its limit (pure). */

/** How throttling is configured (the policy's `throttle` record has this shape). */
export interface ThrottleConfig {
  /** Share of the limit (0..1) from which requests are warned and slowed. */
  readonly softAt: number;
  /** Delay at the limit, ms. */
  readonly maxDelayMs: number;
}

/** What throttling needs from a window: its id, limit and use after this request. */
export interface ThrottleWindow {
  readonly id: string;
  readonly limit: number;
  readonly used: number;
}

/** The throttling verdict for one allowed request. */
export interface Throttle {
  /** `85% of "minute" used`, present from the soft threshold on. */
  readonly warning?: string;
  /** Whole milliseconds to wait before forwarding; 0 below the soft threshold. */
  readonly delayMs: number;
}

/** No warning and no delay. */
export const NO_THROTTLE: Throttle = { delayMs: 0 };

/**
 * Throttling for an allowed request, from the window most used (by fraction of its limit).
 *
 * Like nginx `limit_req ... burst=B delay=D`, requests under the soft threshold pass untouched,
 * requests between it and the hard limit are slowed, and the hard limit still rejects (that is
 * the limiter's job, not this function's). The delay ramps linearly:
 * `delayMs = round(maxDelayMs * (u - softAt) / (1 - softAt))` with `u = min(1, used / limit)`,
 * so it is 0 below `softAt`, never above `maxDelayMs`, and never decreases as usage grows.
 *
 * @example
 * throttleFor([{ id: 'minute', limit: 100, used: 90 }], { softAt: 0.8, maxDelayMs: 500 })
 * // { warning: '90% of "minute" used', delayMs: 250 }
 */
export function throttleFor(
  windows: readonly ThrottleWindow[],
  config: ThrottleConfig | undefined,
): Throttle {
  if (!config) return NO_THROTTLE;
  let top: ThrottleWindow | undefined;
  let topUse = -1;
  for (const w of windows) {
    const use = usage(w);
    if (use > topUse) {
      top = w;
      topUse = use;
    }
  }
  if (!top || topUse < config.softAt) return NO_THROTTLE;
  const ramp = Math.min(1, Math.max(0, (topUse - config.softAt) / (1 - config.softAt)));
  // Integer arithmetic for the percentage: 29 * 100 / 100 is exactly 29, 0.29 * 100 is not.
  const percent = Math.min(100, Math.floor((Math.max(0, top.used) * 100) / top.limit));
  return {
    // Window ids are `[a-z0-9_:-]` only, so JSON quoting is also a valid RFC 8941 sf-string.
    warning: `${percent}% of ${JSON.stringify(top.id)} used`,
    delayMs: Math.min(config.maxDelayMs, Math.round(config.maxDelayMs * ramp)),
  };
}

/** Fraction of the limit used, clamped to [0, 1]. */
function usage(w: ThrottleWindow): number {
  if (!(w.limit > 0)) return 0;
  return Math.min(1, Math.max(0, w.used / w.limit));
}
