/** Pure formatting of numbers, durations and times for people; no DOM, unit-tested in Node. */

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * Compact count: exact below 1,000, then one decimal with k/M/B ("1.2k", "12k", "3.4M").
 * Rounds down so a display never claims more headroom or traffic than there was.
 * @example formatCount(1234) // "1.2k"
 */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return '–';
  const sign = n < 0 ? '-' : '';
  const abs = Math.abs(Math.trunc(n));
  if (abs < 1000) return `${sign}${abs}`;
  const units: readonly [number, string][] = [
    [1e9, 'B'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [size, suffix] of units) {
    if (abs >= size) {
      const scaled = abs / size;
      // One decimal below 10 ("1.2k"), none above ("12k", "340k"): at most 3 significant digits.
      const digits = scaled < 10 ? 1 : 0;
      const factor = 10 ** digits;
      const shown = Math.floor(scaled * factor) / factor;
      return `${sign}${shown.toFixed(digits).replace(/\.0$/, '')}${suffix}`;
    }
  }
  return `${sign}${abs}`;
}

/**
 * Full count with thousands separators, for tables and tooltips ("12,345").
 * @example formatExact(12345) // "12,345"
 */
export function formatExact(n: number): string {
  if (!Number.isFinite(n)) return '–';
  return Math.trunc(n)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/**
 * A duration in the two largest units ("42 s", "3 min 5 s", "2 h 10 min", "1 d 4 h").
 * Rounds seconds up, so a countdown never reads "0 s" while the window is still closed.
 * @example formatDuration(185_000) // "3 min 5 s"
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0) return '0 s';
  const totalSeconds = Math.ceil(ms / SECOND);
  const days = Math.floor(totalSeconds / 86_400);
  const hours = Math.floor((totalSeconds % 86_400) / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  const parts: [number, string][] = [
    [days, 'd'],
    [hours, 'h'],
    [minutes, 'min'],
    [seconds, 's'],
  ];
  const first = parts.findIndex(([value]) => value > 0);
  const shown = parts.slice(first, first + 2).filter(([value]) => value > 0);
  return shown.map(([value, unit]) => `${value} ${unit}`).join(' ');
}

/**
 * A limit-sized number: exact below a million ("99,997", so three used out of 100,000 shows),
 * compact above ("2.5M").
 * @example formatAmount(99_997) // "99,997"
 */
export function formatAmount(n: number): string {
  return Math.abs(n) < 1e6 ? formatExact(n) : formatCount(n);
}

/**
 * How long ago something happened ("just now", "12 s ago", "5 min ago", "3 h ago", "2 d ago").
 * @example formatAgo(now - 90_000, now) // "1 min ago"
 */
export function formatAgo(thenMs: number, nowMs: number): string {
  const ago = nowMs - thenMs;
  if (!Number.isFinite(ago)) return '';
  if (ago < 5 * SECOND) return 'just now';
  if (ago < MINUTE) return `${Math.floor(ago / SECOND)} s ago`;
  if (ago < HOUR) return `${Math.floor(ago / MINUTE)} min ago`;
  if (ago < DAY) return `${Math.floor(ago / HOUR)} h ago`;
  return `${Math.floor(ago / DAY)} d ago`;
}

/**
 * How far ahead something is ("in 3 h 20 min"), or "ended" once past.
 * @example formatUntil(now + 3_600_000, now) // "in 1 h"
 */
export function formatUntil(thenMs: number, nowMs: number): string {
  const left = thenMs - nowMs;
  if (!Number.isFinite(left)) return '';
  if (left <= 0) return 'ended';
  return `in ${formatDuration(left)}`;
}

const WINDOW_UNITS: Record<string, [singular: string, plural: string]> = {
  s: ['second', 'seconds'],
  m: ['minute', 'minutes'],
  h: ['hour', 'hours'],
  d: ['day', 'days'],
};

/**
 * A window spec for people: "1m" → "per minute", "10s" → "per 10 seconds", "1d" → "per day".
 * Unknown shapes are returned as "per <spec>" rather than guessed.
 * @example formatWindow('10s') // "per 10 seconds"
 */
export function formatWindow(spec: string): string {
  const match = /^(\d+)([smhd])$/.exec(spec.trim());
  const units = match ? WINDOW_UNITS[match[2] ?? ''] : undefined;
  if (!match || !units) return `per ${spec}`;
  const n = Number(match[1]);
  return n === 1 ? `per ${units[0]}` : `per ${n} ${units[1]}`;
}

const NAMED_WINDOWS: Record<string, string> = {
  second: 'per second',
  minute: 'per minute',
  hour: 'per hour',
  day: 'per day',
};

/**
 * A window id from the API for people: "minute" → "per minute", "search:minute" →
 * "search, per minute", "10s" → "per 10 seconds". Unknown ids are shown as they are.
 * @example formatWindowId('search:minute') // "search, per minute"
 */
export function formatWindowId(id: string): string {
  const colon = id.lastIndexOf(':');
  const rule = colon >= 0 ? id.slice(0, colon) : '';
  const tail = colon >= 0 ? id.slice(colon + 1) : id;
  const named = NAMED_WINDOWS[tail] ?? (/^\d+[smhd]$/.test(tail) ? formatWindow(tail) : undefined);
  if (!named) return id;
  return rule ? `${rule}, ${named}` : named;
}

/**
 * A limit for people: "100 per minute", "1.2k per day".
 * @example formatLimit(1000, '1d') // "1k per day"
 */
export function formatLimit(limit: number, windowSpec: string): string {
  return `${formatCount(limit)} ${formatWindow(windowSpec)}`;
}

/**
 * A share as a percentage with sensible precision: "0%", "<0.1%", "2.7%", "45%", "100%".
 * @example formatPercent(34, 1234) // "2.8%"
 */
export function formatPercent(part: number, whole: number): string {
  if (!Number.isFinite(part) || !Number.isFinite(whole) || whole <= 0 || part <= 0) return '0%';
  const pct = (part / whole) * 100;
  if (pct >= 100) return '100%';
  if (pct < 0.1) return '<0.1%';
  return pct < 10 ? `${pct.toFixed(1).replace(/\.0$/, '')}%` : `${Math.round(pct)}%`;
}

/**
 * Latency in milliseconds: microseconds below 1 ms ("420 µs"), then "1.3 ms", "12 ms".
 * @example formatLatency(0.42) // "420 µs"
 */
export function formatLatency(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '–';
  if (ms === 0) return '0 ms';
  if (ms < 1) return `${Math.round(ms * 1000)} µs`;
  if (ms < 10) return `${ms.toFixed(1).replace(/\.0$/, '')} ms`;
  return `${Math.round(ms)} ms`;
}

/**
 * Share of a limit still available, clamped to 0–1, for meters.
 * @example remainingFraction(42, 100) // 0.42
 */
export function remainingFraction(remaining: number, limit: number): number {
  if (!Number.isFinite(remaining) || !Number.isFinite(limit) || limit <= 0) return 0;
  return Math.min(1, Math.max(0, remaining / limit));
}

/** How worried a meter should look: plenty left, running low (≤ 20%), or none left. */
export type Headroom = 'ok' | 'low' | 'exhausted';

/**
 * Classifies what is left of a limit; "low" starts at 20% left, matching the default 80%
 * "approaching" alert.
 * @example headroom(5, 100) // "low"
 */
export function headroom(remaining: number, limit: number): Headroom {
  if (remaining <= 0) return 'exhausted';
  return remainingFraction(remaining, limit) <= 0.2 ? 'low' : 'ok';
}

/**
 * A tier name for display: "free" → "Free".
 * @example formatTier('enterprise') // "Enterprise"
 */
export function formatTier(tier: string): string {
  return tier ? tier.charAt(0).toUpperCase() + tier.slice(1) : 'Unknown';
}

/** How precisely to print a time: the bucket size of a chart, or `second` for events. */
export type TimePrecision = 'second' | 'minute' | 'hour' | 'day';

/**
 * A local time at the precision that matters: "14:05:09" for events, "Mon 14:05" for minute and
 * hour buckets, "Mon 3 Nov" for days. `locale` and `timeZone` are for tests; browsers use the user's.
 * @example formatTime(Date.parse('2026-11-02T14:05:09Z'), 'second', { locale: 'en-GB', timeZone: 'UTC' })
 * // "14:05:09"
 */
export function formatTime(
  ms: number,
  precision: TimePrecision,
  options: { locale?: string; timeZone?: string } = {},
): string {
  if (!Number.isFinite(ms)) return '–';
  const base: Intl.DateTimeFormatOptions = {
    hourCycle: 'h23',
    ...(options.timeZone ? { timeZone: options.timeZone } : {}),
  };
  const byPrecision: Record<TimePrecision, Intl.DateTimeFormatOptions> = {
    second: { hour: '2-digit', minute: '2-digit', second: '2-digit' },
    minute: { weekday: 'short', hour: '2-digit', minute: '2-digit' },
    hour: { weekday: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' },
    day: { weekday: 'short', day: 'numeric', month: 'short' },
  };
  return new Intl.DateTimeFormat(options.locale, { ...base, ...byPrecision[precision] }).format(ms);
}

/**
 * A full date and time for tooltips and expiry lines ("3 Nov 2026, 14:05").
 * @example formatDateTime(Date.parse('2026-11-03T14:05:00Z'), { locale: 'en-GB', timeZone: 'UTC' })
 * // "3 Nov 2026, 14:05"
 */
export function formatDateTime(
  ms: number,
  options: { locale?: string; timeZone?: string } = {},
): string {
  if (!Number.isFinite(ms)) return '–';
  return new Intl.DateTimeFormat(options.locale, {
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    ...(options.timeZone ? { timeZone: options.timeZone } : {}),
  }).format(ms);
}

/**
 * The one time format of charts, their legends and tables: "Tue 14:05" for minute and hour
 * intervals, "Tue 3 Nov" for days, in the viewer's timezone (named by {@link timeZoneLabel}).
 * @example formatBucket(Date.parse('2026-11-03T14:05:00Z'), 60_000, { locale: 'en-GB', timeZone: 'UTC' })
 * // "Tue 14:05"
 */
export function formatBucket(
  ms: number,
  intervalMs: number,
  options: { locale?: string; timeZone?: string } = {},
): string {
  if (!Number.isFinite(ms)) return '–';
  const byDay = intervalMs >= DAY;
  return new Intl.DateTimeFormat(options.locale, {
    weekday: 'short',
    ...(byDay ? { day: 'numeric', month: 'short' } : { hour: '2-digit', minute: '2-digit' }),
    hourCycle: 'h23',
    ...(options.timeZone ? { timeZone: options.timeZone } : {}),
  }).format(ms);
}

/**
 * The viewer's timezone as charts name it: "UTC", or "Europe/Berlin, GMT+1".
 * @example timeZoneLabel(Date.now(), { timeZone: 'UTC' }) // "UTC"
 */
export function timeZoneLabel(ms: number, options: { locale?: string; timeZone?: string } = {}) {
  const format = new Intl.DateTimeFormat(options.locale ?? 'en-US', {
    timeZoneName: 'shortOffset',
    ...(options.timeZone ? { timeZone: options.timeZone } : {}),
  });
  const zone = format.resolvedOptions().timeZone;
  const offset = format.formatToParts(ms).find((p) => p.type === 'timeZoneName')?.value ?? '';
  if (zone === 'UTC' || zone === 'Etc/UTC') return 'UTC';
  return offset ? `${zone}, ${offset}` : zone;
}

/**
 * When the next request is allowed: "Next request: allowed now", or "Next request allowed in
 * 14 s (14:05:42)" when the window is full.
 * @example formatNextAllowed(3, now + 14_000, now) // "Next request: allowed now"
 */
export function formatNextAllowed(remaining: number, nextAllowedAtMs: number, nowMs: number) {
  if (remaining > 0 || nextAllowedAtMs <= nowMs) return 'Next request: allowed now';
  return `Next request allowed in ${formatDuration(nextAllowedAtMs - nowMs)} (${formatMoment(nextAllowedAtMs, nowMs)})`;
}

/**
 * When the whole quota is back: "All 100 available", or "All 100 back in 52 s (14:06:20)" (a
 * sliding window gives quota back gradually as old requests leave it, not all at once).
 * @example formatFullBack(100, 0, now, now) // "All 100 available"
 */
export function formatFullBack(limit: number, used: number, fullAtMs: number, nowMs: number) {
  const all = `All ${formatAmount(limit)}`;
  if (used <= 0 || fullAtMs <= nowMs) return `${all} available`;
  return `${all} back in ${formatDuration(fullAtMs - nowMs)} (${formatMoment(fullAtMs, nowMs)})`;
}

/** A coming moment: "14:05:42" within 12 hours, else with its date ("2 Dec 2026, 14:05"). */
function formatMoment(ms: number, nowMs: number): string {
  return ms - nowMs < 12 * HOUR ? formatTime(ms, 'second') : formatDateTime(ms);
}

/**
 * Share of a limit used, clamped to 0–1, for the usage bar that fills towards the limit.
 * @example usedFraction(58, 100) // 0.58
 */
export function usedFraction(used: number, limit: number): number {
  if (!Number.isFinite(used) || !Number.isFinite(limit) || limit <= 0) return 0;
  return Math.min(1, Math.max(0, used / limit));
}
