import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';

describe('smoke', () => {
  it('forwards a free-tier request with headers', async () => {
    const res = await exports.default.fetch('http://api.test/v1/things', {
      headers: { 'X-API-Key': 'demo-free-key', 'X-Customer-Id': 'spoofed' },
    });
    const body = (await res.json()) as { headers: Record<string, string> };
    expect(res.status).toBe(200);
    expect(res.headers.get('X-RateLimit-Limit')).toBe('100');
    expect(body.headers['x-customer-id']).toBe('demo-free');
  });
});
