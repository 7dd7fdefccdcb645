import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { serverTiming } from '../../src/routes/proxy';
import { testWorker } from '../support/app';
import { createCustomer } from '../support/customers';

const DUR = /^edgelimit;dur=(\d+\.\d{2});desc="rate limit"$/;

describe('Server-Timing', () => {
  it('formats the limiter time with two decimals and never a negative duration', () => {
    expect(serverTiming(0.456)).toBe('edgelimit;dur=0.46;desc="rate limit"');
    expect(serverTiming(-1)).toBe('edgelimit;dur=0.00;desc="rate limit"');
  });

  it('is sent on allowed, rejected and bypassed responses', async () => {
    const worker = testWorker();
    const customer = await createCustomer(env.CONFIG, {
      tier: 'enterprise',
      limits: [{ limit: 1, window: '1m' }],
    });
    const allowed = await worker.fetch('/v1/t', { headers: customer.headers });
    const rejected = await worker.fetch('/v1/t', { headers: customer.headers });
    const bypassed = await worker.fetch('/v1/t', {
      headers: { 'X-Service-Token': 'test-service-token' },
    });
    expect([allowed.status, rejected.status, bypassed.status]).toEqual([200, 429, 200]);
    for (const res of [allowed, rejected, bypassed]) {
      expect(res.headers.get('Server-Timing')).toMatch(DUR);
    }
  });
});
