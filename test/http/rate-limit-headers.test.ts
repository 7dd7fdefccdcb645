/** Rate limit headers and the 429 problem body, from decisions; Retry-After honesty as a property. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock';
import { QUOTA_EXCEEDED_TYPE, quotaExceeded } from '../../src/http/problem';
import { rateLimitHeaders } from '../../src/http/rate-limit-headers';
import { blockingWindow } from '../../src/limiter/blocking-window';
import { type Decision, decide, type WindowResult } from '../../src/limiter/decide';
import type { ResolvedPolicy, ResolvedWindow } from '../../src/policy/resolve-policy';
import { createMemoryStore } from '../../src/store/memory-store';
import { traceArb } from '../support/arbitraries';

const NOW = 1_700_000_000_000;

/** A window result with defaults for the fields a test does not care about. */
function win(over: Partial<WindowResult> & Pick<WindowResult, 'id'>): WindowResult {
  return {
    limit: 100,
    windowMs: 60_000,
    window: '1m',
    used: 0,
    remaining: 100,
    retryAt: NOW,
    resetAt: NOW,
    ...over,
  };
}

/** A decision with defaults. */
function decision(over: Partial<Decision>): Decision {
  return {
    outcome: 'allowed',
    now: NOW,
    windows: [],
    shadow: [],
    storeLatencyMs: 1,
    store: 'memory',
    ...over,
  };
}

describe('rateLimitHeaders', () => {
  const minute = win({ id: 'minute', used: 42, remaining: 58, resetAt: NOW + 17_200 });
  const day = win({
    id: 'day',
    limit: 1000,
    windowMs: 86_400_000,
    window: '1d',
    used: 990,
    remaining: 10,
    resetAt: NOW + 3_600_000,
  });

  it('describes every window in draft-11 structured fields and the tightest in X-RateLimit', () => {
    const headers = rateLimitHeaders(decision({ windows: [minute, day] }));
    expect(headers).toEqual({
      'X-Edgelimit-Status': 'allowed',
      'X-RateLimit-Limit': '1000',
      'X-RateLimit-Remaining': '10',
      'X-RateLimit-Reset': String(Math.ceil((NOW + 3_600_000) / 1000)),
      'RateLimit-Policy': '"minute";q=100;w=60, "day";q=1000;w=86400',
      RateLimit: '"minute";r=58;t=18, "day";r=10;t=3600',
    });
  });

  it('points every reset field and Retry-After at the retry time of the blocking window', () => {
    const blocked = win({ id: 'minute', used: 100, remaining: 0, retryAt: NOW + 1_500 });
    const headers = rateLimitHeaders(
      decision({ outcome: 'rejected', windows: [blocked, day], retryAt: NOW + 1_500 }),
    );
    expect(headers['X-RateLimit-Limit']).toBe('100');
    expect(headers['X-RateLimit-Remaining']).toBe('0');
    expect(headers['X-RateLimit-Reset']).toBe(String(Math.ceil((NOW + 1_500) / 1000)));
    expect(headers['Retry-After']).toBe('2');
    expect(headers.RateLimit).toBe('"minute";r=0;t=2, "day";r=10;t=3600');
  });

  it('says only "bypassed" for internal traffic', () => {
    expect(rateLimitHeaders(decision({ outcome: 'bypassed' }))).toEqual({
      'X-Edgelimit-Status': 'bypassed',
    });
  });

  it('quotes window ids as sf-strings, escaping quotes and backslashes', () => {
    const odd = win({ id: 'a"b\\c' });
    expect(rateLimitHeaders(decision({ windows: [odd] }))['RateLimit-Policy']).toBe(
      '"a\\"b\\\\c";q=100;w=60',
    );
  });

  it('reports shadow windows that would have rejected', () => {
    const shadow = [{ ...win({ id: 'search:minute' }), wouldReject: true }];
    expect(rateLimitHeaders(decision({ windows: [minute], shadow }))['X-Edgelimit-Shadow']).toBe(
      'would-reject=search:minute',
    );
  });
});

describe('blockingWindow', () => {
  it('prefers a blocking window, then the one with least remaining', () => {
    const a = win({ id: 'a', remaining: 5 });
    const b = win({ id: 'b', remaining: 50, retryAt: NOW + 10 });
    expect(blockingWindow(decision({ windows: [a, b] }))?.id).toBe('b');
    expect(blockingWindow(decision({ windows: [a, win({ id: 'c', remaining: 6 })] }))?.id).toBe(
      'a',
    );
  });
});

describe('quotaExceeded', () => {
  it('builds the draft-11 quota-exceeded problem with limit, window, retry time and docs', () => {
    const blocked: WindowResult = {
      ...win({ id: 'search:minute', limit: 10, used: 10, remaining: 0, retryAt: NOW + 4_200 }),
      rule: 'search',
    };
    const body = quotaExceeded(
      decision({
        outcome: 'rejected',
        windows: [win({ id: 'minute' }), blocked],
        retryAt: NOW + 4_200,
      }),
      'https://docs.test/limits',
      'customer acme',
    );
    expect(body).toEqual({
      type: QUOTA_EXCEEDED_TYPE,
      title: 'Request cannot be satisfied as assigned quota has been exceeded',
      status: 429,
      detail: 'Rate limit exceeded for customer acme: 10 requests per 1m on search. Retry in 5 s.',
      'violated-policies': ['search:minute'],
      limit: 10,
      window: '1m',
      retryAfter: 5,
      retryAt: new Date(Math.ceil((NOW + 4_200) / 1000) * 1000).toISOString(),
      documentation: 'https://docs.test/limits',
    });
  });
});

describe('Retry-After (property)', () => {
  const windowArb = (id: string) =>
    fc.record({
      id: fc.constant(id),
      limit: fc.integer({ min: 1, max: 8 }),
      windowMs: fc.oneof(
        fc.constantFrom(1_000, 5_000, 60_000, 3_600_000, 86_400_000),
        fc.integer({ min: 1, max: 90_000 }),
      ),
      window: fc.constant('custom'),
    });
  const scenarioArb = fc
    .tuple(windowArb('a'), fc.option(windowArb('b'), { nil: undefined }))
    .map(([a, b]) => (b ? [a, b] : [a]) as ResolvedWindow[])
    .chain((windows) =>
      fc.tuple(fc.constant(windows), traceArb(Math.max(...windows.map((w) => w.windowMs)), 40)),
    );

  /** Decides `times` in order on a fresh memory store; returns a function deciding one more. */
  async function replay(policy: ResolvedPolicy, times: readonly number[]) {
    const clock = manualClock();
    const store = createMemoryStore(clock);
    const at = async (t: number) => {
      clock.set(t);
      return decide({ store, identity: 'c:retry', policy, clock, budgetMs: 1_000 });
    };
    for (const t of times) expect((await at(t)).outcome).toBe('allowed');
    return at;
  }

  it('is enough, and at most one second more than needed, when nothing else is sent', async () => {
    let rejections = 0;
    await fc.assert(
      fc.asyncProperty(scenarioArb, async ([windows, trace]) => {
        const policy: ResolvedPolicy = { tier: 'free', windows, failMode: 'open' };
        const live = await replay(policy, []);
        const allowed: number[] = [];
        for (const t of trace) {
          const d = await live(t);
          if (d.outcome === 'allowed') {
            allowed.push(t);
            continue;
          }
          rejections++;
          const seconds = Number(rateLimitHeaders(d)['Retry-After']);
          expect(Number.isInteger(seconds) && seconds >= 1).toBe(true);
          expect(quotaExceeded(d, 'https://docs.test', 'x').retryAfter).toBe(seconds);
          // A client that waits exactly Retry-After is allowed...
          expect((await (await replay(policy, allowed))(t + seconds * 1000)).outcome).toBe(
            'allowed',
          );
          // ...and one that waits a second less is not: the wait needed is more than s - 1.
          expect((await (await replay(policy, allowed))(t + (seconds - 1) * 1000)).outcome).toBe(
            'rejected',
          );
        }
      }),
      { numRuns: 60 },
    );
    expect(rejections).toBeGreaterThan(20);
  });
});
