/** The per-isolate memo of resolved policies: the same answers as resolvePolicy, reused safely. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../../src/policy/default-policy';
import { createPolicyMemo, MAX_MEMO_PATH, overrideSpan } from '../../src/policy/policy-memo';
import type { CustomerRecord } from '../../src/policy/records';
import { type PolicyInput, resolvePolicy } from '../../src/policy/resolve-policy';

const NOW = Date.parse('2026-06-01T12:00:00Z');

/** A customer with overrides ending at `ends` (ms after NOW). */
function customerWith(ends: readonly number[]): CustomerRecord {
  return {
    tier: 'pro',
    overrides: ends.map((ms, i) => ({
      limits: [{ limit: 2_000 + i, window: '1m' }],
      expiresAt: new Date(NOW + ms).toISOString(),
      reason: `o${i}`,
    })),
  };
}

function input(
  customer: CustomerRecord | undefined,
  now: number,
  path = '/v1/search',
): PolicyInput {
  return {
    policy: DEFAULT_POLICY,
    tier: customer?.tier ?? 'anonymous',
    ...(customer ? { customer } : {}),
    method: 'POST',
    overrideMethods: ['POST'],
    path,
    now,
  };
}

describe('createPolicyMemo', () => {
  it('answers what resolvePolicy answers, whichever way the clock moves past overrides', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -5_000, max: 5_000 }), { maxLength: 4 }),
        fc.array(
          fc.record({
            at: fc.integer({ min: -6_000, max: 6_000 }),
            path: fc.constantFrom('/v1/search', '/v1/items', '/V1/SEARCH.json'),
          }),
          { minLength: 1, maxLength: 30 },
        ),
        (ends, steps) => {
          const resolve = createPolicyMemo(8);
          const customer = customerWith(ends);
          for (const { at, path } of steps) {
            const asked = input(customer, NOW + at, path);
            expect(resolve(asked)).toEqual(resolvePolicy(asked));
          }
        },
      ),
    );
  });

  it('reuses the policy while nothing changes, and resolves again for a new customer record', () => {
    const resolve = createPolicyMemo();
    const customer = customerWith([60_000]);
    const first = resolve(input(customer, NOW));
    expect(resolve(input(customer, NOW + 1_000))).toBe(first);
    // A KV edit reaches the memo as a new object (the config cache parsed it again).
    const edited: CustomerRecord = { ...customer, limits: [{ limit: 7, window: '1m' }] };
    const second = resolve(input(edited, NOW + 1_000));
    expect(second).not.toBe(first);
    expect(second).toEqual(resolvePolicy(input(edited, NOW + 1_000)));
    // The override ends: resolved again, without it.
    expect(resolve(input(customer, NOW + 60_000)).override).toBeUndefined();
  });

  it('keeps method, override methods and path apart however they are spelled', () => {
    const resolve = createPolicyMemo();
    const customer = customerWith([]);
    const ask = (method: string, overrideMethods: string[], path: string) =>
      resolve({ ...input(customer, NOW, path), method, overrideMethods });
    // The same characters split differently: the POST rule applies to the second only.
    const odd = ask('GET|POST', [], '/v1/search');
    expect(odd.windows.map((w) => w.id)).not.toContain('search:minute');
    expect(ask('GET', ['POST'], '/v1/search').windows.map((w) => w.id)).toContain('search:minute');
    const encoded = ask('3:GET4:POST', [], '/v1/search');
    expect(encoded.windows.map((w) => w.id)).not.toContain('search:minute');
  });

  it('does not remember very long paths, and stays within its bound', () => {
    const resolve = createPolicyMemo(2);
    const long = `/v1/${'x'.repeat(MAX_MEMO_PATH)}`;
    const a = resolve(input(undefined, NOW, long));
    expect(resolve(input(undefined, NOW, long))).not.toBe(a);
    const b = resolve(input(undefined, NOW, '/a'));
    resolve(input(undefined, NOW, '/b'));
    resolve(input(undefined, NOW, '/c'));
    expect(resolve(input(undefined, NOW, '/a'))).not.toBe(b);
  });
});

describe('overrideSpan', () => {
  it('is the span between the override ends around now', () => {
    const o = (ms: number) => ({
      limits: [{ limit: 1, window: '1m' }],
      expiresAt: new Date(NOW + ms).toISOString(),
      reason: 'r',
    });
    expect(overrideSpan([o(-10), o(5), o(20), o(-3)], NOW)).toEqual({
      from: NOW - 3,
      until: NOW + 5,
    });
    expect(overrideSpan(undefined, NOW)).toEqual({ from: -Infinity, until: Infinity });
  });
});
