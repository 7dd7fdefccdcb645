import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { describeLimit, docsUrlFor } from '../../src/http/docs-page';
import { API, sequence, testWorker, worker } from '../support/app';
import { createCustomer } from '../support/customers';

/** Follows an absolute link through the worker under test (its host is the test API's). */
async function follow(url: string): Promise<Response> {
  expect(url.startsWith(`${API}/`)).toBe(true);
  return worker.fetch(url.slice(API.length));
}

describe('the rate-limit documentation page', () => {
  it('is where a real 429 links to, and answers it in plain HTML with every anchor it uses', async () => {
    const customer = await createCustomer(env.CONFIG, { tier: 'free' });
    const init = { method: 'POST', headers: customer.headers };
    const responses = await sequence(worker, 11, '/v1/search', init);
    const rejected = responses[10] as Response;
    expect(rejected.status).toBe(429);
    const problem = (await rejected.json()) as { documentation: string };
    expect(problem.documentation).toBe(`${API}/_edgelimit/docs/rate-limits`);

    const page = await follow(problem.documentation);
    expect(page.status).toBe(200);
    expect(page.headers.get('Content-Type')).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    // What the limits are: the tiers of the policy in force and the search rule.
    expect(html).toContain('100 per minute, 1,000 per day');
    expect(html).toContain('<code>POST /v1/search</code>');
    // What each header means, how to wait and retry, how to ask for an increase.
    for (const header of ['X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset']) {
      expect(html).toContain(`<code>${header}</code>`);
    }
    expect(html).toContain('<code>Retry-After</code>');
    expect(html).toContain(`${API}/_edgelimit/usage/increase-request`);
    for (const anchor of [
      'quota-exceeded',
      'store-unavailable',
      'unknown-api-key',
      'revoked-api-key',
      'malformed-api-key',
      'invalid-service-token',
      'increase-requests',
    ]) {
      expect(html).toContain(`id="${anchor}"`);
    }
  });

  it('links 401 problems to their anchor on the page', async () => {
    const res = await worker.fetch('/v1/items', { headers: { 'X-API-Key': 'no-such-key-123' } });
    expect(res.status).toBe(401);
    const problem = (await res.json()) as { type: string; documentation: string };
    expect(problem.type).toBe(`${API}/_edgelimit/docs/rate-limits#unknown-api-key`);
    expect((await follow(problem.documentation)).status).toBe(200);
  });

  it('links to DOCS_URL instead when the operator sets one', async () => {
    const custom = testWorker({ DOCS_URL: 'https://docs.example.com/limits' });
    const res = await custom.fetch('/v1/items', { headers: { 'X-API-Key': 'no-such-key-123' } });
    expect(((await res.json()) as { documentation: string }).documentation).toBe(
      'https://docs.example.com/limits',
    );
  });

  it('refuses a DOCS_URL that is not http(s), naming the variable', async () => {
    const res = await testWorker({ DOCS_URL: 'javascript:alert(1)' }).fetch('/v1/items');
    expect(res.status).toBe(500);
    expect(await res.text()).toContain('DOCS_URL');
  });
});

describe('docsUrlFor', () => {
  it('resolves the own page on the host the request came to, under the configured prefix', () => {
    const settings = { docsUrl: '', prefix: '/_rl' };
    expect(docsUrlFor(settings, 'https://api.example.com/v1/x?y=1')).toBe(
      'https://api.example.com/_rl/docs/rate-limits',
    );
    expect(docsUrlFor({ ...settings, docsUrl: 'https://d.example/x' }, 'https://a/b')).toBe(
      'https://d.example/x',
    );
  });
});

describe('describeLimit', () => {
  it('says limits the way people read them', () => {
    expect(describeLimit({ limit: 100, window: '1m' })).toBe('100 per minute');
    expect(describeLimit({ limit: 3, window: '5s' })).toBe('3 per 5 seconds');
    expect(describeLimit({ limit: 10_000, window: '1d' })).toBe('10,000 per day');
  });
});
