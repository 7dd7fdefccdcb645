/** Weighted requests: an endpoint rule's `cost` is consumed from every window, in every store. */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { CustomerRecord } from '../../src/policy/records';
import { type Settings, silenceLogs, testWorker } from '../support/app';
import { createCustomer } from '../support/customers';
import { redisSettings } from '../support/redis';

silenceLogs();

const MODES: Record<string, Settings> = {
  memory: { LIMITER_STORE: 'memory' },
  'durable-object': { LIMITER_STORE: 'durable-object' },
  hybrid: { ...redisSettings(), LIMITER_STORE: 'hybrid' },
  redis: redisSettings(),
};

const weighted = (cost: number): CustomerRecord => ({
  tier: 'pro',
  endpoints: [
    {
      id: 'report',
      method: 'POST',
      path: '/v1/report',
      limits: [{ limit: 10, window: '1m' }],
      cost,
    },
  ],
});

for (const [mode, settings] of Object.entries(MODES)) {
  describe(`weighted requests (${mode} store)`, () => {
    const worker = testWorker({ ...settings, CONFIG_TTL_MS: '0', STORE_BUDGET_MS: '2000' });

    it('lets 2 requests of cost 5 through a 10/min window and counts 5 units of every window', async () => {
      const customer = await createCustomer(env.CONFIG, weighted(5));
      const send = () => worker.fetch('/v1/report', { method: 'POST', headers: customer.headers });
      const [a, b, c] = [await send(), await send(), await send()];
      expect([a.status, b.status, c.status]).toEqual([200, 200, 429]);
      expect(b.headers.get('RateLimit')).toMatch(
        /^"minute";r=990;t=\d+, "report:minute";r=0;t=\d+$/,
      );
      const retryAfter = Number(c.headers.get('Retry-After'));
      expect(retryAfter).toBeGreaterThanOrEqual(59);
      expect(retryAfter).toBeLessThanOrEqual(61);
      const body = (await c.json()) as Record<string, unknown>;
      expect(body['violated-policies']).toEqual(['report:minute']);
      expect(body.cost).toBe(5);
      expect(body.detail).toContain('This request costs 5 units of every window.');
      // The refused request consumed nothing: the minute window still shows 990 left.
      const status = await worker.fetch('/_edgelimit/rate_limit', { headers: customer.headers });
      const windows = ((await status.json()) as { windows: Record<string, unknown>[] }).windows;
      expect(windows.find((w) => w.id === 'minute')).toMatchObject({ remaining: 990, used: 10 });
      expect(windows.find((w) => w.id === 'report:minute')).toMatchObject({ cost: 5, used: 10 });
    });

    it('answers a request that costs more than a whole window with a 429 that says it can never pass', async () => {
      const customer = await createCustomer(env.CONFIG, weighted(11));
      const response = await worker.fetch('/v1/report', {
        method: 'POST',
        headers: customer.headers,
      });
      expect(response.status).toBe(429);
      expect(response.headers.get('Retry-After')).toBeNull();
      expect(response.headers.get('RateLimit')).toMatch(/"report:minute";r=10;t=0$/);
      const body = (await response.json()) as Record<string, unknown>;
      expect(body.detail).toContain('can never pass');
      expect(body.detail).toContain('costs 11 requests, more than the 10 per 1m');
      expect(body).not.toHaveProperty('retryAfter');
      expect(body).not.toHaveProperty('retryAt');
      expect(body['violated-policies']).toEqual(['report:minute']);
    });
  });
}
