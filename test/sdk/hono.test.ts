/** The Hono middleware over the real RateLimiter entrypoint: headers, refusals, c.var, failures. */
import { env, exports } from 'cloudflare:workers';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { rateLimit } from '../../src/sdk/hono';
import type { RateLimiterBinding } from '../../src/sdk/types';
import { silenceLogs } from '../support/app';
import { createCustomer } from '../support/customers';

silenceLogs();

function appWith(binding: Pick<RateLimiterBinding, 'check'>, options = {}) {
  const app = new Hono();
  app.use('*', rateLimit({ binding: () => binding, ...options }));
  app.get('/v1/*', (c) =>
    c.json({ outcome: c.var.edgelimit.outcome, caller: c.var.edgelimit.caller }),
  );
  // A response whose headers are immutable, as one straight from fetch() is.
  app.get('/immutable', () => Response.redirect('http://api.test/elsewhere', 302));
  return app;
}

const down: Pick<RateLimiterBinding, 'check'> = {
  check: () => Promise.reject(new Error('limiter unreachable')),
};

describe('rateLimit middleware', () => {
  it('sets the limiter headers and the verified caller, and answers 429 with the problem body', async () => {
    const c = await createCustomer(env.CONFIG, {
      tier: 'enterprise',
      limits: [{ limit: 1, window: '1m' }],
    });
    const app = appWith(exports.RateLimiter);
    const ok = await app.request('/v1/x', { headers: c.headers });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('X-RateLimit-Remaining')).toBe('0');
    expect(await ok.json()).toEqual({
      outcome: 'allowed',
      caller: { kind: 'customer', customerId: c.customerId, tier: 'enterprise' },
    });
    const refused = await app.request('/v1/x', { headers: c.headers });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('Content-Type')).toBe('application/problem+json');
    expect(Number(refused.headers.get('Retry-After'))).toBeGreaterThanOrEqual(59);
    expect(await refused.json()).toMatchObject({ status: 429, 'violated-policies': ['minute'] });
  });

  it('adds headers to a response whose headers are immutable', async () => {
    const res = await appWith(exports.RateLimiter).request('/immutable', {
      headers: { 'CF-Connecting-IP': '10.9.9.9' },
    });
    expect(res.status).toBe(302);
    expect(res.headers.get('X-Edgelimit-Status')).toBe('allowed');
  });

  it('fails open by default and closed when told, when the limiter cannot be reached', async () => {
    const open = await appWith(down).request('/v1/x');
    expect(open.status).toBe(200);
    expect(await open.json()).toEqual({ outcome: 'failed-open' });
    const closed = await appWith(down, { onUnavailable: 'closed' }).request('/v1/x');
    expect(closed.status).toBe(503);
    expect(closed.headers.get('Retry-After')).toBe('1');
  });

  it('refuses bad options when it is built, naming them', () => {
    expect(() => rateLimit({ binding: undefined as never })).toThrow(/binding/);
    expect(() => rateLimit({ binding: () => down, cost: 0 })).toThrow(/cost/);
  });
});
