import { describe, expect, it } from 'vitest';
import { effectiveLimits } from '../../scripts/admin/effective-limits';
import { DEFAULT_POLICY } from '../../src/policy/default-policy';
import type { CustomerRecord } from '../../src/policy/records';
import { resolvePolicy } from '../../src/policy/resolve-policy';

const NOW = Date.UTC(2030, 0, 1, 12);

/** The limits the worker resolves for a request, as `count/window` strings. */
function resolved(customer: CustomerRecord, method: string, path: string): string[] {
  return resolvePolicy({
    policy: DEFAULT_POLICY,
    tier: customer.tier,
    customer,
    method,
    path,
    now: NOW,
  })
    .windows.map((w) => `${w.limit}/${w.window}`)
    .sort();
}

/** What the CLI says applies to that request. */
function explained(customer: CustomerRecord, method: string, path: string): string[] {
  return effectiveLimits(DEFAULT_POLICY, customer, NOW)
    .filter((e) => e.appliesTo === 'all requests' || e.appliesTo === `${method} ${path}`)
    .map((e) => `${e.limit.limit}/${e.limit.window}`)
    .sort();
}

describe('effectiveLimits', () => {
  const cases: [string, CustomerRecord][] = [
    ['a free customer', { tier: 'free' }],
    ['an enterprise customer without limits', { tier: 'enterprise' }],
    ['an unlimited customer', { tier: 'enterprise', unlimited: true }],
    [
      'a customer with its own limits, a rule replacing the policy rule and an override',
      {
        tier: 'enterprise',
        limits: [
          { limit: 50, window: '10s' },
          { limit: 100_000, window: '1d' },
        ],
        endpoints: [
          {
            id: 'search',
            method: 'POST',
            path: '/v1/search',
            limits: [{ limit: 3, window: '5s' }],
          },
        ],
        overrides: [
          {
            limits: [{ limit: 500, window: '10s' }],
            expiresAt: new Date(NOW + 3_600_000).toISOString(),
            reason: 'launch',
          },
        ],
      },
    ],
  ];
  for (const [name, customer] of cases) {
    it(`matches what the worker resolves for ${name}`, () => {
      for (const [method, path] of [
        ['GET', '/v1/items'],
        ['POST', '/v1/search'],
      ] as const) {
        expect(explained(customer, method, path)).toEqual(resolved(customer, method, path));
      }
    });
  }

  it('says where each limit comes from', () => {
    const rows = effectiveLimits(DEFAULT_POLICY, cases[3]?.[1] ?? { tier: 'free' }, NOW);
    expect(rows.map((r) => [`${r.limit.limit}/${r.limit.window}`, r.appliesTo, r.source])).toEqual([
      [
        '500/10s',
        'all requests',
        `override until ${new Date(NOW + 3_600_000).toISOString()} (replaces 50/10s)`,
      ],
      ['100000/1d', 'all requests', 'customer record'],
      ['3/5s', 'POST /v1/search', 'customer rule "search" (replaces the policy rule)'],
    ]);
    expect(effectiveLimits(DEFAULT_POLICY, { tier: 'free' }, NOW).map((r) => r.source)).toEqual([
      'free tier default',
      'free tier default',
      'policy rule "search" (free)',
    ]);
  });
});
