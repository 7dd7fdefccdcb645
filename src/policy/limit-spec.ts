/** Limits as people write them (`{ "limit": 100, "window": "1m" }`) and their parsed form. */
import { z } from 'zod';

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const WINDOW = /^([1-9]\d{0,5})(s|m|h|d)$/;
/** Longest window we accept: counters live at most this long. */
export const MAX_WINDOW_MS = 31 * UNIT_MS.d;

/** Parses `"<n>s|m|h|d"` into milliseconds, or returns `undefined`. */
export function parseWindow(window: string): number | undefined {
  const match = WINDOW.exec(window);
  if (!match) return undefined;
  const ms = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  return ms <= MAX_WINDOW_MS ? ms : undefined;
}

/** A human name for a window, used as its id and in the `RateLimit-Policy` field. */
export function windowName(window: string): string {
  const names: Record<string, string> = {
    '1s': 'second',
    '1m': 'minute',
    '1h': 'hour',
    '1d': 'day',
  };
  return names[window] ?? window;
}

/** Schema of one limit. */
export const limitSchema = z.strictObject({
  limit: z.number().int().positive().max(1_000_000_000),
  window: z.string().refine((w) => parseWindow(w) !== undefined, {
    message: 'must be <n>s, <n>m, <n>h or <n>d (e.g. "5s", "1m", "1d"), at most 31 days',
  }),
});

/** One limit as written in config. */
export type Limit = z.infer<typeof limitSchema>;

/**
 * A non-empty list of limits with distinct windows. Empty is refused rather than read as "no
 * limit": an unlimited customer says so with `"unlimited": true`.
 */
export const limitListSchema = z
  .array(limitSchema)
  .min(1, 'must list at least one limit (for no limit, set "unlimited": true on the customer)')
  .max(8)
  .refine((limits) => new Set(limits.map((l) => l.window)).size === limits.length, {
    message: 'each window may appear once',
  });
