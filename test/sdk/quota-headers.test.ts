/** The client's header reader: it recovers every window the worker's headers announce. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rateLimitHeaders, secondsUntil } from '../../src/http/rate-limit-headers';
import { nextQuotaAt } from '../../src/limiter/blocking-window';
import type { Decision, WindowResult } from '../../src/limiter/decide';
import {
  parseSfList,
  quotaFromHeaders,
  resetInstant,
  retryAfterMs,
} from '../../src/sdk/quota-headers';

const NOW = 1_700_000_000_000;

describe('quotaFromHeaders', () => {
  it('reads draft-11 fields, joining RateLimit with RateLimit-Policy by name', () => {
    const headers = new Headers({
      'RateLimit-Policy': '"minute";q=100;w=60, "day";q=1000;w=86400',
      RateLimit: '"minute";r=42;t=18, "day";r=958;t=3600',
    });
    expect(quotaFromHeaders(headers, NOW)).toEqual([
      { id: 'minute', limit: 100, windowSeconds: 60, remaining: 42, resetAt: NOW + 18_000 },
      { id: 'day', limit: 1000, windowSeconds: 86400, remaining: 958, resetAt: NOW + 3_600_000 },
    ]);
  });

  it('falls back to X-RateLimit-* as one window, reading Reset by its size', () => {
    const headers = new Headers({
      'X-RateLimit-Limit': '60',
      'X-RateLimit-Remaining': '0',
      'X-RateLimit-Reset': String(NOW / 1000 + 30),
    });
    expect(quotaFromHeaders(headers, NOW)).toEqual([
      { id: 'default', limit: 60, remaining: 0, resetAt: NOW + 30_000 },
    ]);
    expect(resetInstant(30, NOW)).toBe(NOW + 30_000);
    expect(resetInstant(NOW, NOW)).toBe(NOW);
  });

  it('skips what it cannot read instead of failing', () => {
    expect(quotaFromHeaders(new Headers(), NOW)).toEqual([]);
    expect(quotaFromHeaders(new Headers({ RateLimit: 'garbage;;;, "x";r=-1' }), NOW)).toEqual([]);
    expect(parseSfList('"a\\"b";r=1, ??, tok;q=2;flag')).toEqual([
      { value: 'a"b', params: new Map([['r', '1']]) },
      {
        value: 'tok',
        params: new Map([
          ['q', '2'],
          ['flag', '?1'],
        ]),
      },
    ]);
  });

  it('recovers remaining, limit and the next-quota instant of any decision (property)', () => {
    const windowArb = fc.record({
      id: fc.stringMatching(/^[a-z][a-z0-9:"\\ -]{0,12}$/),
      limit: fc.integer({ min: 1, max: 1_000_000 }),
      windowMs: fc.integer({ min: 1, max: 86_400 }).map((s) => s * 1000),
      used: fc.integer({ min: 0, max: 1_000_000 }),
      wait: fc.integer({ min: 0, max: 86_400_000 }),
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(windowArb, { selector: (w) => w.id, minLength: 1, maxLength: 4 }),
        (specs) => {
          const windows: WindowResult[] = specs.map((s) => {
            const used = Math.min(s.used, s.limit);
            return {
              id: s.id,
              limit: s.limit,
              windowMs: s.windowMs,
              window: `${s.windowMs / 1000}s`,
              used,
              remaining: s.limit - used,
              retryAt: used >= s.limit ? NOW + s.wait : NOW,
              resetAt: NOW + s.wait,
            };
          });
          const decision: Decision = {
            outcome: 'allowed',
            now: NOW,
            windows,
            shadow: [],
            storeLatencyMs: 0,
            store: 'memory',
          };
          const seen = quotaFromHeaders(new Headers(rateLimitHeaders(decision)), NOW);
          expect(seen).toEqual(
            windows.map((w) => ({
              id: w.id,
              limit: w.limit,
              windowSeconds: w.windowMs / 1000,
              remaining: w.remaining,
              resetAt: NOW + secondsUntil(nextQuotaAt(w, NOW), NOW) * 1000,
            })),
          );
        },
      ),
    );
  });
});

describe('retryAfterMs', () => {
  it('reads delay-seconds and HTTP-dates, and nothing else', () => {
    expect(retryAfterMs('7', NOW)).toBe(7000);
    expect(retryAfterMs(new Date(NOW + 5000).toUTCString(), NOW)).toBe(5000);
    expect(retryAfterMs(null, NOW)).toBeUndefined();
    expect(retryAfterMs('soon', NOW)).toBeUndefined();
  });
});
