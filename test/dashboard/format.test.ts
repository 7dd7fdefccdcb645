/** The dashboard's pure formatting, ranges and config resolution, tested in Node. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_API_BASE, resolveConfig } from '../../dashboard/src/config';
import {
  formatAgo,
  formatAmount,
  formatBucket,
  formatCount,
  formatDateTime,
  formatDuration,
  formatExact,
  formatFullBack,
  formatLatency,
  formatLimit,
  formatNextAllowed,
  formatPercent,
  formatTier,
  formatTime,
  formatUntil,
  formatWindow,
  headroom,
  remainingFraction,
  timeZoneLabel,
  usedFraction,
} from '../../dashboard/src/format';
import { buildIncreaseRequest } from '../../dashboard/src/increase-request';
import {
  DEFAULT_RESOLUTIONS,
  isUsefulCombination,
  pointCount,
  USAGE_RANGES,
} from '../../dashboard/src/range';

const T0 = Date.parse('2026-11-02T14:05:09Z');
const UTC = { locale: 'en-GB', timeZone: 'UTC' };

describe('formatCount', () => {
  it('prints counts under a thousand exactly', () => {
    expect(formatCount(0)).toBe('0');
    expect(formatCount(7)).toBe('7');
    expect(formatCount(999)).toBe('999');
  });

  it('abbreviates thousands, millions and billions with at most three significant digits', () => {
    expect(formatCount(1000)).toBe('1k');
    expect(formatCount(1234)).toBe('1.2k');
    expect(formatCount(12_345)).toBe('12k');
    expect(formatCount(340_500)).toBe('340k');
    expect(formatCount(3_400_000)).toBe('3.4M');
    expect(formatCount(2_000_000_000)).toBe('2B');
  });

  it('rounds down, so 999,999 never reads as 1M', () => {
    expect(formatCount(1999)).toBe('1.9k');
    expect(formatCount(999_999)).toBe('999k');
  });

  it('keeps the sign of negative numbers and shows a dash for non-numbers', () => {
    expect(formatCount(-1500)).toBe('-1.5k');
    expect(formatCount(Number.NaN)).toBe('–');
  });
});

describe('formatExact', () => {
  it('groups thousands with commas', () => {
    expect(formatExact(0)).toBe('0');
    expect(formatExact(12_345)).toBe('12,345');
    expect(formatExact(1_000_000)).toBe('1,000,000');
  });
});

describe('formatDuration', () => {
  it('uses the two largest non-zero units', () => {
    expect(formatDuration(42_000)).toBe('42 s');
    expect(formatDuration(185_000)).toBe('3 min 5 s');
    expect(formatDuration(2 * 3_600_000 + 10 * 60_000 + 7_000)).toBe('2 h 10 min');
    expect(formatDuration(28 * 3_600_000)).toBe('1 d 4 h');
    expect(formatDuration(3_600_000)).toBe('1 h');
  });

  it('rounds partial seconds up so a closed window never shows 0 s', () => {
    expect(formatDuration(1)).toBe('1 s');
    expect(formatDuration(41_001)).toBe('42 s');
  });

  it('treats zero, negative and invalid durations as 0 s', () => {
    expect(formatDuration(0)).toBe('0 s');
    expect(formatDuration(-5)).toBe('0 s');
    expect(formatDuration(Number.NaN)).toBe('0 s');
  });
});

describe('formatNextAllowed and formatFullBack', () => {
  it('says a request is allowed now while any quota is left', () => {
    expect(formatNextAllowed(3, T0 + 14_000, T0)).toBe('Next request: allowed now');
    expect(formatNextAllowed(0, T0, T0)).toBe('Next request: allowed now');
  });

  it('says when the next request is allowed once the window is full, at that clock time', () => {
    expect(formatNextAllowed(0, T0 + 14_000, T0)).toMatch(
      /^Next request allowed in 14 s \(\d\d:\d\d:\d\d\)$/,
    );
  });

  it('says when the whole quota is back, with the date when it is far off', () => {
    expect(formatFullBack(100, 0, T0, T0)).toBe('All 100 available');
    expect(formatFullBack(100, 7, T0 + 52_000, T0)).toMatch(
      /^All 100 back in 52 s \(\d\d:\d\d:\d\d\)$/,
    );
    expect(formatFullBack(1000, 7, T0 + 86_400_000, T0)).toMatch(
      /^All 1,000 back in 1 d \(.*2026.*\)$/,
    );
  });

  it('fills the usage bar towards the limit', () => {
    expect(usedFraction(58, 100)).toBe(0.58);
    expect(usedFraction(150, 100)).toBe(1);
    expect(usedFraction(1, 0)).toBe(0);
  });
});

describe('formatBucket and timeZoneLabel', () => {
  it('prints every interval in one format per resolution, in the given timezone', () => {
    expect(formatBucket(T0, 60_000, UTC)).toBe('Mon 14:05');
    expect(formatBucket(T0, 3_600_000, UTC)).toBe('Mon 14:05');
    expect(formatBucket(T0, 86_400_000, UTC)).toBe('Mon 2 Nov');
  });

  it('names the timezone with its offset', () => {
    expect(timeZoneLabel(T0, { timeZone: 'UTC' })).toBe('UTC');
    expect(timeZoneLabel(T0, { timeZone: 'Europe/Berlin' })).toBe('Europe/Berlin, GMT+1');
  });
});

describe('formatAmount', () => {
  it('is exact below a million and compact above', () => {
    expect(formatAmount(99_997)).toBe('99,997');
    expect(formatAmount(1000)).toBe('1,000');
    expect(formatAmount(2_500_000)).toBe('2.5M');
  });
});

describe('formatAgo and formatUntil', () => {
  it('describes the past coarsely', () => {
    expect(formatAgo(T0 - 2_000, T0)).toBe('just now');
    expect(formatAgo(T0 - 12_000, T0)).toBe('12 s ago');
    expect(formatAgo(T0 - 90_000, T0)).toBe('1 min ago');
    expect(formatAgo(T0 - 3 * 3_600_000, T0)).toBe('3 h ago');
    expect(formatAgo(T0 - 50 * 3_600_000, T0)).toBe('2 d ago');
  });

  it('describes the future, and says ended once it has passed', () => {
    expect(formatUntil(T0 + 3_600_000, T0)).toBe('in 1 h');
    expect(formatUntil(T0 - 1, T0)).toBe('ended');
  });
});

describe('formatWindow and formatLimit', () => {
  it('reads window specs as English', () => {
    expect(formatWindow('1m')).toBe('per minute');
    expect(formatWindow('10s')).toBe('per 10 seconds');
    expect(formatWindow('1d')).toBe('per day');
    expect(formatWindow('6h')).toBe('per 6 hours');
  });

  it('leaves unknown specs recognisable instead of guessing', () => {
    expect(formatWindow('fortnight')).toBe('per fortnight');
  });

  it('combines a limit with its window', () => {
    expect(formatLimit(100, '1m')).toBe('100 per minute');
    expect(formatLimit(100_000, '1d')).toBe('100k per day');
  });
});

describe('formatPercent', () => {
  it('uses one decimal below 10% and whole numbers above', () => {
    expect(formatPercent(34, 1234)).toBe('2.8%');
    expect(formatPercent(1, 2)).toBe('50%');
    expect(formatPercent(2, 100)).toBe('2%');
  });

  it('handles the edges without dividing by zero', () => {
    expect(formatPercent(0, 0)).toBe('0%');
    expect(formatPercent(1, 100_000)).toBe('<0.1%');
    expect(formatPercent(5, 5)).toBe('100%');
  });
});

describe('formatLatency', () => {
  it('shows microseconds below a millisecond and milliseconds above', () => {
    expect(formatLatency(0.42)).toBe('420 µs');
    expect(formatLatency(1.34)).toBe('1.3 ms');
    expect(formatLatency(12.6)).toBe('13 ms');
  });

  it('shows a dash when there is no measurement', () => {
    expect(formatLatency(null)).toBe('–');
    expect(formatLatency(undefined)).toBe('–');
  });
});

describe('remainingFraction and headroom', () => {
  it('clamps the fraction to 0..1', () => {
    expect(remainingFraction(42, 100)).toBe(0.42);
    expect(remainingFraction(150, 100)).toBe(1);
    expect(remainingFraction(-1, 100)).toBe(0);
    expect(remainingFraction(1, 0)).toBe(0);
  });

  it('calls 20% or less left low and nothing left exhausted', () => {
    expect(headroom(50, 100)).toBe('ok');
    expect(headroom(20, 100)).toBe('low');
    expect(headroom(0, 100)).toBe('exhausted');
  });
});

describe('formatTier', () => {
  it('capitalises tier names', () => {
    expect(formatTier('free')).toBe('Free');
    expect(formatTier('enterprise')).toBe('Enterprise');
    expect(formatTier('')).toBe('Unknown');
  });
});

describe('formatTime and formatDateTime', () => {
  it('prints events to the second and buckets at their own precision', () => {
    expect(formatTime(T0, 'second', UTC)).toBe('14:05:09');
    expect(formatTime(T0, 'minute', UTC)).toBe('Mon 14:05');
    expect(formatTime(T0, 'day', UTC)).toBe('Mon 2 Nov');
  });

  it('prints a full date and time for expiries', () => {
    expect(formatDateTime(Date.parse('2026-11-03T14:05:00Z'), UTC)).toBe('3 Nov 2026, 14:05');
  });
});

describe('ranges and resolutions', () => {
  it('counts the buckets of a range', () => {
    expect(pointCount('1h', 'minute')).toBe(60);
    expect(pointCount('24h', 'minute')).toBe(1440);
    expect(pointCount('30d', 'hour')).toBe(720);
  });

  it('refuses combinations the API refuses or that draw a single point', () => {
    expect(isUsefulCombination('30d', 'minute')).toBe(false);
    expect(isUsefulCombination('7d', 'minute')).toBe(false);
    expect(isUsefulCombination('1h', 'day')).toBe(false);
    expect(isUsefulCombination('24h', 'minute')).toBe(true);
  });

  it('counts each range per a resolution that gives a readable number of bars', () => {
    expect(DEFAULT_RESOLUTIONS).toEqual({
      '1h': 'minute',
      '24h': 'hour',
      '7d': 'hour',
      '30d': 'day',
    });
    for (const range of USAGE_RANGES) {
      const points = pointCount(range, DEFAULT_RESOLUTIONS[range]);
      expect(isUsefulCombination(range, DEFAULT_RESOLUTIONS[range])).toBe(true);
      expect(points).toBeLessThanOrEqual(200);
    }
  });
});

describe('resolveConfig', () => {
  it("defaults to the local worker and the worker's own docs page", () => {
    expect(resolveConfig({})).toEqual({
      apiBase: DEFAULT_API_BASE,
      docsUrl: `${DEFAULT_API_BASE}/_edgelimit/docs/rate-limits`,
      apiSource: 'default',
    });
    expect(resolveConfig({ query: 'https://api.example.com/' }).docsUrl).toBe(
      'https://api.example.com/_edgelimit/docs/rate-limits',
    );
  });

  it('prefers ?api= over config.json over the build-time value, dropping trailing slashes', () => {
    const file = { apiBase: 'https://file.example/' };
    const buildApi = 'https://build.example';
    expect(resolveConfig({ query: 'https://query.example/', file, buildApi })).toMatchObject({
      apiBase: 'https://query.example',
      apiSource: 'query',
    });
    expect(resolveConfig({ file, buildApi })).toMatchObject({
      apiBase: 'https://file.example',
      apiSource: 'config.json',
    });
    expect(resolveConfig({ buildApi })).toMatchObject({
      apiBase: 'https://build.example',
      apiSource: 'build',
    });
  });

  it('ignores values that are not http(s) URLs and config files that are not objects', () => {
    expect(resolveConfig({ query: 'javascript:alert(1)', file: '<!doctype html>' }).apiSource).toBe(
      'default',
    );
    expect(resolveConfig({ file: { apiBase: 'ftp://x' } }).apiSource).toBe('default');
  });

  it('takes the docs URL from config.json', () => {
    expect(resolveConfig({ file: { docsUrl: 'https://docs.example/limits' } }).docsUrl).toBe(
      'https://docs.example/limits',
    );
  });
});

describe('buildIncreaseRequest', () => {
  const fields = { reason: 'Product launch on Friday', limit: '', window: '1m', until: '' };

  it('sends just the reason when nothing else is filled in', () => {
    expect(buildIncreaseRequest(fields, T0)).toEqual({ reason: 'Product launch on Friday' });
  });

  it('adds the limit and an ISO end time when given', () => {
    const request = buildIncreaseRequest(
      { ...fields, limit: '500', until: '2026-11-05T12:00:00Z' },
      T0,
    );
    expect(request).toEqual({
      reason: 'Product launch on Friday',
      limits: [{ limit: 500, window: '1m' }],
      until: '2026-11-05T12:00:00.000Z',
    });
  });

  it('explains what is wrong instead of sending bad input', () => {
    expect(buildIncreaseRequest({ ...fields, reason: ' ' }, T0)).toMatch(/why/i);
    expect(buildIncreaseRequest({ ...fields, limit: '1.5' }, T0)).toMatch(/whole number/);
    expect(buildIncreaseRequest({ ...fields, until: '2020-01-01T00:00' }, T0)).toMatch(/future/);
  });
});
