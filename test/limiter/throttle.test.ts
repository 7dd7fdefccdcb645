/** Graduated throttling: the pure delay and warning function. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NO_THROTTLE, throttleFor } from '../../src/limiter/throttle';
import { MAX_THROTTLE_DELAY_MS, throttleSchema } from '../../src/policy/records';

const config = { softAt: 0.8, maxDelayMs: 500 };
const minute = (used: number, limit = 100) => ({ id: 'minute', limit, used });

const arbConfig = fc.record({
  softAt: fc.double({ min: 0.01, max: 0.99, noNaN: true }),
  maxDelayMs: fc.integer({ min: 0, max: MAX_THROTTLE_DELAY_MS }),
});

describe('throttleFor', () => {
  it('does nothing when throttling is not configured', () => {
    expect(throttleFor([minute(100)], undefined)).toEqual(NO_THROTTLE);
  });

  it('does nothing below the soft threshold', () => {
    expect(throttleFor([minute(79)], config)).toEqual({ delayMs: 0 });
  });

  it('warns from the soft threshold on, with a delay ramping linearly to the bound', () => {
    expect(throttleFor([minute(80)], config)).toEqual({
      warning: '80% of "minute" used',
      delayMs: 0,
    });
    expect(throttleFor([minute(90)], config)).toEqual({
      warning: '90% of "minute" used',
      delayMs: 250,
    });
    expect(throttleFor([minute(100)], config)).toEqual({
      warning: '100% of "minute" used',
      delayMs: 500,
    });
  });

  it('follows the window most used relative to its limit', () => {
    const result = throttleFor(
      [minute(50), { id: 'search:5s', limit: 3, used: 3 }, { id: 'day', limit: 1000, used: 900 }],
      config,
    );
    expect(result).toEqual({ warning: '100% of "search:5s" used', delayMs: 500 });
  });

  it('floors the percentage exactly (29 of 100 is 29%, not 28%)', () => {
    expect(throttleFor([minute(29)], { softAt: 0.2, maxDelayMs: 0 }).warning).toBe(
      '29% of "minute" used',
    );
  });

  it('never grows past the limit when a window reports more than its limit', () => {
    expect(throttleFor([minute(250)], config)).toEqual({
      warning: '100% of "minute" used',
      delayMs: 500,
    });
  });

  it('is 0 below the soft threshold and never exceeds maxDelayMs (property)', () => {
    fc.assert(
      fc.property(
        arbConfig,
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.integer({ min: 0, max: 2_000_000 }),
        (cfg, limit, used) => {
          const { delayMs, warning } = throttleFor([minute(used, limit)], cfg);
          expect(Number.isInteger(delayMs)).toBe(true);
          expect(delayMs).toBeGreaterThanOrEqual(0);
          expect(delayMs).toBeLessThanOrEqual(cfg.maxDelayMs);
          if (used / limit < cfg.softAt) {
            expect(delayMs).toBe(0);
            expect(warning).toBeUndefined();
          } else {
            expect(warning).toMatch(/^\d{1,3}% of "minute" used$/);
          }
        },
      ),
    );
  });

  it('never delays less when usage grows, in any window (property)', () => {
    fc.assert(
      fc.property(
        arbConfig,
        fc.array(fc.record({ limit: fc.integer({ min: 1, max: 10_000 }), used: fc.nat(12_000) }), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.nat(3),
        fc.integer({ min: 1, max: 5_000 }),
        (cfg, specs, which, more) => {
          const before = specs.map((s, i) => ({ id: `w${i}`, ...s }));
          const index = which % before.length;
          const after = before.map((w, i) => (i === index ? { ...w, used: w.used + more } : w));
          expect(throttleFor(after, cfg).delayMs).toBeGreaterThanOrEqual(
            throttleFor(before, cfg).delayMs,
          );
        },
      ),
    );
  });
});

describe('throttleSchema', () => {
  it('accepts a soft threshold and a bounded delay', () => {
    expect(throttleSchema.safeParse({ softAt: 0.8, maxDelayMs: 500 }).success).toBe(true);
  });

  it('refuses delays above the bound and thresholds outside (0, 1)', () => {
    expect(throttleSchema.safeParse({ softAt: 0.8, maxDelayMs: 2001 }).success).toBe(false);
    expect(throttleSchema.safeParse({ softAt: 1, maxDelayMs: 100 }).success).toBe(false);
    expect(throttleSchema.safeParse({ softAt: 0, maxDelayMs: 100 }).success).toBe(false);
  });
});
