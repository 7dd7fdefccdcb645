/**
 * Charging what the origin reports: a real origin on 127.0.0.1 answers with X-Edgelimit-Charge,
 * the worker records it in the windows marked `"charge": "origin"`, in every store mode.
 */
import { env } from 'cloudflare:workers';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { MAX_ORIGIN_CHARGE, parseCharge } from '../../src/http/origin-charge';
import type { CustomerRecord } from '../../src/policy/records';
import { setLogSink } from '../../src/telemetry/log';
import { type Settings, testWorker } from '../support/app';
import { createCustomer, uniqueId } from '../support/customers';
import { redisSettings } from '../support/redis';

const GATE = inject('gateOriginUrl');

let lines: Record<string, unknown>[] = [];
let restore: ((line: string) => void) | undefined;
beforeEach(() => {
  lines = [];
  restore = setLogSink((line) => lines.push(JSON.parse(line) as Record<string, unknown>));
});
afterEach(() => {
  if (restore) setLogSink(restore);
});

const TOKENS: CustomerRecord = {
  tier: 'pro',
  limits: [
    { limit: 1000, window: '1m' },
    { limit: 1000, window: '1m', charge: 'origin', unit: 'tokens' },
  ],
};

describe('parseCharge', () => {
  it('believes plain non-negative integers up to the cap, nothing else', () => {
    expect(parseCharge('500')).toEqual({ ok: true, units: 500 });
    expect(parseCharge(' 0 ')).toEqual({ ok: true, units: 0 });
    expect(parseCharge(String(MAX_ORIGIN_CHARGE))).toEqual({ ok: true, units: MAX_ORIGIN_CHARGE });
    expect(parseCharge(null)).toBeUndefined();
    for (const bad of ['-1', '1.5', '1e3', '0x10', 'abc', '', '12 tokens', '99999999999']) {
      expect(parseCharge(bad)?.ok, bad).toBe(false);
    }
    expect(parseCharge(String(MAX_ORIGIN_CHARGE + 1))).toMatchObject({ ok: false });
  });
});

const MODES: Record<string, Settings> = {
  memory: { LIMITER_STORE: 'memory' },
  'durable-object': { LIMITER_STORE: 'durable-object' },
  hybrid: { ...redisSettings(), LIMITER_STORE: 'hybrid' },
  redis: redisSettings(),
};

for (const [mode, settings] of Object.entries(MODES)) {
  describe(`charges from the origin (${mode} store)`, () => {
    const worker = testWorker({
      ...settings,
      ORIGIN_URL: GATE,
      CONFIG_TTL_MS: '0',
      STORE_BUDGET_MS: '2000',
    });

    it('charges 700 of 1000 tokens, then 700 more into debt, then refuses with an honest Retry-After', async () => {
      const customer = await createCustomer(env.CONFIG, TOKENS);
      const group = uniqueId('g');
      const call = (charge: string) =>
        worker.fetch(`/v1/complete?group=${group}&charge=${charge}`, { headers: customer.headers });

      const first = await call('700');
      expect(first.status).toBe(200);
      expect(first.headers.get(CHARGE)).toBeNull();
      expect(first.headers.get('RateLimit')).toMatch(/"minute-tokens";r=300;t=\d+$/);
      const status = await worker.fetch('/_edgelimit/rate_limit', { headers: customer.headers });
      const windows = ((await status.json()) as { windows: Record<string, unknown>[] }).windows;
      expect(windows.find((w) => w.id === 'minute-tokens')).toMatchObject({
        remaining: 300,
        used: 700,
        unit: 'tokens',
        charge: 'origin',
      });
      // The request window counted the request, not its tokens.
      expect(windows.find((w) => w.id === 'minute')).toMatchObject({ used: 1 });

      const second = await call('700');
      expect(second.status).toBe(200);
      expect(second.headers.get('RateLimit')).toMatch(/"minute-tokens";r=0;t=\d+$/);

      const third = await call('1');
      expect(third.status).toBe(429);
      // Room comes back when the first 700 tokens leave the window: about a minute.
      const retryAfter = Number(third.headers.get('Retry-After'));
      expect(retryAfter).toBeGreaterThanOrEqual(58);
      expect(retryAfter).toBeLessThanOrEqual(61);
      const body = (await third.json()) as Record<string, unknown>;
      expect(body['violated-policies']).toEqual(['minute-tokens']);
      expect(body.unit).toBe('tokens');
      expect(body.detail).toContain('1000 tokens per 1m');
      expect(
        (await fetch(`${GATE}/_control/arrived?group=${group}`).then((r) => r.json())) as unknown,
      ).toEqual({ arrived: 2 });
    });

    it('ignores, logs and alerts a malformed charge, and charges the request cost instead', async () => {
      const customer = await createCustomer(env.CONFIG, TOKENS);
      const group = uniqueId('g');
      for (const bad of ['lots', '9999999999']) {
        const response = await worker.fetch(`/v1/complete?group=${group}&charge=${bad}`, {
          headers: customer.headers,
        });
        expect(response.status).toBe(200);
        expect(response.headers.get(CHARGE)).toBeNull();
      }
      const status = await worker.fetch('/_edgelimit/rate_limit', { headers: customer.headers });
      const windows = ((await status.json()) as { windows: Record<string, unknown>[] }).windows;
      expect(windows.find((w) => w.id === 'minute-tokens')).toMatchObject({ used: 2 });
      const rejected = lines.filter((l) => l.event === 'origin-charge-rejected');
      expect(rejected.map((l) => l.customerId)).toEqual([customer.customerId, customer.customerId]);
      expect(String(rejected[0]?.reason)).toContain('not a non-negative integer');
      expect(String(rejected[1]?.reason)).toContain('above the cap');
      const metrics = await worker.fetch('/_edgelimit/admin/metrics?range=1h', {
        headers: { Authorization: 'Bearer test-admin-token' },
      });
      const alerts = ((await metrics.json()) as { recentAlerts: Record<string, unknown>[] })
        .recentAlerts;
      expect(
        alerts.some((a) => a.kind === 'origin-charge' && a.customerId === customer.customerId),
      ).toBe(true);
    });
  });
}

const CHARGE = 'X-Edgelimit-Charge';
