/** Limit specs, path patterns, policy resolution and the KV config store's last-good fallback. */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock';
import { type ConfigProblem, createConfigStore, kvKeys } from '../../src/policy/config-store';
import { DEFAULT_POLICY } from '../../src/policy/default-policy';
import { parseWindow, windowName } from '../../src/policy/limit-spec';
import { matchPath } from '../../src/policy/path-pattern';
import type { CustomerRecord } from '../../src/policy/records';
import { activeOverride, resolvePolicy } from '../../src/policy/resolve-policy';
import { uniqueId } from '../support/customers';

const NOW = Date.parse('2026-06-01T12:00:00Z');

describe('parseWindow and windowName', () => {
  it('reads <n>s|m|h|d up to 31 days and names the common windows', () => {
    expect(parseWindow('5s')).toBe(5_000);
    expect(parseWindow('1m')).toBe(60_000);
    expect(parseWindow('2h')).toBe(7_200_000);
    expect(parseWindow('31d')).toBe(31 * 86_400_000);
    for (const bad of ['32d', '0s', '1.5m', '1w', 'm', '05s', ' 1m']) {
      expect(parseWindow(bad)).toBeUndefined();
    }
    expect([windowName('1m'), windowName('1d'), windowName('5s')]).toEqual(['minute', 'day', '5s']);
  });
});

describe('matchPath', () => {
  it('matches literal segments, :params, * and a trailing **', () => {
    expect(matchPath('/v1/search', '/v1/search')).toBe(true);
    expect(matchPath('/v1/search', '/v1/search/')).toBe(true);
    expect(matchPath('/v1/search', '/v1/searches')).toBe(false);
    expect(matchPath('/v1/search', '/V1/search')).toBe(true);
    expect(matchPath('/v1/search', '/V1/search', { caseSensitive: true })).toBe(false);
    expect(matchPath('/v1/items/:id', '/v1/items/42')).toBe(true);
    expect(matchPath('/v1/items/:id', '/v1/items/42/parts')).toBe(false);
    expect(matchPath('/v1/*/parts', '/v1/9/parts')).toBe(true);
    expect(matchPath('/v1/export/**', '/v1/export')).toBe(true);
    expect(matchPath('/v1/export/**', '/v1/export/a/b/c')).toBe(true);
    expect(matchPath('/v1/export/**', '/v1/exports')).toBe(false);
  });
});

describe('resolvePolicy', () => {
  const base = { policy: DEFAULT_POLICY, method: 'GET', path: '/v1/things', now: NOW };
  const ids = (r: ReturnType<typeof resolvePolicy>) =>
    r.windows.map((w) => `${w.id}=${w.limit}/${w.windowMs}`);

  it('takes the deployment default consistency only where neither policy nor customer sets one', () => {
    const at = { policy: DEFAULT_POLICY, method: 'GET', path: '/v1/x', now: 0 };
    expect(resolvePolicy({ ...at, tier: 'free', defaultConsistency: 'fast' }).consistency).toBe(
      'fast',
    );
    expect(resolvePolicy({ ...at, tier: 'free' }).consistency).toBeUndefined();
    const policy = { ...DEFAULT_POLICY, consistency: { free: 'exact' as const } };
    expect(
      resolvePolicy({ ...at, policy, tier: 'free', defaultConsistency: 'fast' }).consistency,
    ).toBeUndefined();
    const customer: CustomerRecord = { tier: 'pro', consistency: 'exact' };
    expect(
      resolvePolicy({ ...at, tier: 'pro', customer, defaultConsistency: 'fast' }).consistency,
    ).toBeUndefined();
  });
  it('gives each tier its default windows', () => {
    expect(ids(resolvePolicy({ ...base, tier: 'free' }))).toEqual([
      'minute=100/60000',
      'day=1000/86400000',
    ]);
    expect(ids(resolvePolicy({ ...base, tier: 'pro' }))).toEqual(['minute=1000/60000']);
    expect(ids(resolvePolicy({ ...base, tier: 'anonymous' }))).toEqual([
      'minute=30/60000',
      'day=300/86400000',
    ]);
  });

  it('adds matching endpoint rules for the method and tier only', () => {
    const post = { ...base, method: 'post', path: '/v1/search' };
    expect(ids(resolvePolicy({ ...post, tier: 'free' }))).toEqual([
      'minute=100/60000',
      'day=1000/86400000',
      'search:minute=10/60000',
    ]);
    expect(resolvePolicy({ ...post, tier: 'pro' }).windows.at(-1)).toMatchObject({
      rule: 'search',
      limit: 100,
    });
    expect(ids(resolvePolicy({ ...base, path: '/v1/search', tier: 'free' }))).toHaveLength(2);
  });

  it("uses a customer's own limits and rules, a customer rule replacing a global one by id", () => {
    const customer: CustomerRecord = {
      tier: 'enterprise',
      limits: [{ limit: 3, window: '5s' }],
      endpoints: [
        { id: 'search', method: 'POST', path: '/v1/search', limits: [{ limit: 2, window: '1m' }] },
        {
          id: 'beta',
          method: '*',
          path: '/v1/beta/**',
          limits: [{ limit: 1, window: '1h' }],
          shadow: true,
        },
      ],
      failMode: 'closed',
    };
    const search = resolvePolicy({
      ...base,
      method: 'POST',
      path: '/v1/search',
      tier: 'enterprise',
      customer,
    });
    expect(ids(search)).toEqual(['5s=3/5000', 'search:minute=2/60000']);
    expect(search.failMode).toBe('closed');
    const beta = resolvePolicy({
      ...base,
      method: 'DELETE',
      path: '/v1/beta/x',
      tier: 'enterprise',
      customer,
    });
    expect(beta.windows.at(-1)).toMatchObject({ id: 'beta:hour', shadow: true, rule: 'beta' });
  });

  it('raises limits with the override in force: same window replaced, new windows added', () => {
    const customer: CustomerRecord = {
      tier: 'free',
      overrides: [
        {
          limits: [
            { limit: 500, window: '1m' },
            { limit: 50, window: '1s' },
          ],
          expiresAt: new Date(NOW + 60_000).toISOString(),
          reason: 'launch',
        },
        {
          limits: [{ limit: 9_999, window: '1m' }],
          expiresAt: new Date(NOW - 1).toISOString(),
          reason: 'old',
        },
      ],
    };
    const resolved = resolvePolicy({ ...base, tier: 'free', customer });
    expect(ids(resolved)).toEqual(['minute=500/60000', 'day=1000/86400000', 'second=50/1000']);
    expect(resolved.override?.reason).toBe('launch');
    expect(
      resolvePolicy({ ...base, now: NOW + 60_000, tier: 'free', customer }).override,
    ).toBeUndefined();
  });

  it('picks the override ending last when several are in force', () => {
    const o = (reason: string, ms: number) => ({
      limits: [{ limit: 1, window: '1m' }],
      expiresAt: new Date(NOW + ms).toISOString(),
      reason,
    });
    expect(
      activeOverride([o('short', 1_000), o('long', 9_000), o('mid', 5_000)], NOW)?.reason,
    ).toBe('long');
    expect(activeOverride(undefined, NOW)).toBeUndefined();
  });
});

describe('createConfigStore', () => {
  it('keeps the last good record when an edit is malformed, and reports the problem', async () => {
    const problems: ConfigProblem[] = [];
    const clock = manualClock(NOW);
    const config = createConfigStore({
      kv: env.CONFIG,
      clock,
      ttlMs: 1_000,
      onProblem: (p) => problems.push(p),
    });
    const id = uniqueId('cfg');
    const key = kvKeys.customer(id);

    await env.CONFIG.put(key, JSON.stringify({ tier: 'pro' }));
    expect(await config.customer(id)).toEqual({ tier: 'pro' });

    await env.CONFIG.put(key, JSON.stringify({ tier: 'gold' }));
    expect(await config.customer(id)).toEqual({ tier: 'pro' }); // cached within the TTL
    clock.advance(1_000);
    expect(await config.customer(id)).toEqual({ tier: 'pro' }); // re-read, invalid, last good
    expect(problems).toEqual([
      { key, keptLastGood: true, message: expect.stringContaining('tier') },
    ]);

    await env.CONFIG.put(key, '{not json');
    clock.advance(1_000);
    expect(await config.customer(id)).toEqual({ tier: 'pro' });
    expect(problems[1]).toMatchObject({
      key,
      keptLastGood: true,
      message: expect.stringContaining('not valid JSON'),
    });

    await env.CONFIG.put(key, JSON.stringify({ tier: 'free' }));
    clock.advance(1_000);
    expect(await config.customer(id)).toEqual({ tier: 'free' });
  });

  it('answers a fresh cached record at once, the same object, until its TTL ends', async () => {
    const clock = manualClock(NOW);
    const config = createConfigStore({ kv: env.CONFIG, clock, ttlMs: 1_000 });
    const id = uniqueId('sync');
    await env.CONFIG.put(kvKeys.customer(id), JSON.stringify({ tier: 'pro' }));
    const read = await config.customer(id);
    expect(read).toEqual({ tier: 'pro' });
    // A hit is a value, not a promise: no parse and no promise per request.
    expect(config.customer(id)).toBe(read);
    const policy = await config.policy();
    expect(config.policy()).toBe(policy);
    await env.CONFIG.put(kvKeys.customer(id), JSON.stringify({ tier: 'free' }));
    clock.advance(1_000);
    const again = config.customer(id);
    expect(again).toBeInstanceOf(Promise);
    expect(await again).toEqual({ tier: 'free' });
  });

  it('falls back to the default when a record was never good, and to null for a missing one', async () => {
    const problems: ConfigProblem[] = [];
    const config = createConfigStore({
      kv: env.CONFIG,
      clock: manualClock(NOW),
      ttlMs: 0,
      onProblem: (p) => problems.push(p),
    });
    const id = uniqueId('bad');
    await env.CONFIG.put(kvKeys.customer(id), JSON.stringify({ tier: 'free', limits: 'lots' }));
    expect(await config.customer(id)).toBeNull();
    expect(problems).toEqual([
      { key: kvKeys.customer(id), keptLastGood: false, message: expect.stringContaining('limits') },
    ]);
    expect(await config.customer(uniqueId('missing'))).toBeNull();
  });
});

describe('concurrency limits in policies', () => {
  const policy = {
    ...DEFAULT_POLICY,
    concurrency: { pro: 10 },
    endpoints: [
      ...DEFAULT_POLICY.endpoints,
      {
        id: 'export',
        method: 'GET' as const,
        path: '/v1/export',
        limits: {},
        concurrency: { pro: 1 },
      },
    ],
  };
  const kinds = (customer?: CustomerRecord, path = '/v1/x') =>
    resolvePolicy({
      policy,
      tier: 'pro',
      ...(customer ? { customer } : {}),
      method: 'GET',
      path,
      now: NOW,
      slotLeaseMs: 45_000,
    })
      .windows.filter((w) => w.kind === 'concurrency')
      .map((w) => `${w.id}=${w.limit}/${w.windowMs}`);

  it('takes the tier default, the customer record over it, and adds a matching rule of its own', () => {
    expect(kinds()).toEqual(['concurrency=10/45000']);
    expect(kinds({ tier: 'pro', concurrency: 3 })).toEqual(['concurrency=3/45000']);
    expect(kinds({ tier: 'pro', concurrency: 3 }, '/v1/export')).toEqual([
      'concurrency=3/45000',
      'export:concurrency=1/45000',
    ]);
  });

  it('has none where nothing sets one, and none from a shadow rule', () => {
    const shadow = {
      tier: 'free' as const,
      endpoints: [
        {
          id: 'try',
          method: 'GET' as const,
          path: '/v1/x',
          limits: [],
          concurrency: 1,
          shadow: true,
        },
      ],
    };
    expect(
      resolvePolicy({
        policy: DEFAULT_POLICY,
        tier: 'free',
        customer: shadow,
        method: 'GET',
        path: '/v1/x',
        now: NOW,
      }).windows.filter((w) => w.kind === 'concurrency'),
    ).toEqual([]);
  });
});
