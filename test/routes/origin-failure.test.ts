/** The origin fails: 502 / 504 problem+json with the quota headers, for customers and services. */
import { env } from 'cloudflare:workers';
import { describe, expect, inject, it } from 'vitest';
import { silenceLogs, testWorker } from '../support/app';
import { createCustomer } from '../support/customers';

silenceLogs();

describe('an origin that fails', () => {
  it('answers 502 naming the failure, with quota headers, when nothing listens', async () => {
    const target = testWorker({ ORIGIN_URL: inject('deadOriginUrl') });
    const customer = await createCustomer(env.CONFIG, { tier: 'free' });
    const response = await target.fetch('/v1/items', { headers: customer.headers });
    expect(response.status).toBe(502);
    expect(response.headers.get('Content-Type')).toBe('application/problem+json');
    expect(response.headers.get('X-Edgelimit-Status')).toBe('allowed');
    expect(response.headers.get('X-RateLimit-Limit')).toBe('100');
    expect(response.headers.get('X-RateLimit-Remaining')).toBe('99');
    expect(await response.json()).toMatchObject({ status: 502, code: 'origin-unreachable' });
  });

  it('answers 502 when the origin resets the connection, for a service token too', async () => {
    const target = testWorker({ ORIGIN_URL: inject('originUrl') });
    const response = await target.fetch('/reset', {
      headers: { 'X-Service-Token': 'test-service-token' },
    });
    expect(response.status).toBe(502);
    expect(response.headers.get('X-Edgelimit-Status')).toBe('bypassed');
    expect(await response.json()).toMatchObject({ code: 'origin-unreachable' });
  });

  it('answers 504 past ORIGIN_TIMEOUT_MS', async () => {
    const target = testWorker({ ORIGIN_URL: inject('originUrl'), ORIGIN_TIMEOUT_MS: '300' });
    const customer = await createCustomer(env.CONFIG, { tier: 'free' });
    const response = await target.fetch('/hang', { headers: customer.headers });
    expect(response.status).toBe(504);
    expect(response.headers.get('X-RateLimit-Remaining')).toBe('99');
    expect(await response.json()).toMatchObject({ status: 504, code: 'origin-timeout' });
  });
});

describe('forwarding', () => {
  it('keeps the Content-Length the client sent instead of re-chunking the body', async () => {
    const target = testWorker({ ORIGIN_URL: inject('originUrl') });
    const customer = await createCustomer(env.CONFIG, { tier: 'free' });
    const body = JSON.stringify({ q: 'x'.repeat(5000) });
    // A body of known length arriving as a stream, as a client's upload reaches the worker.
    const { readable, writable } = new FixedLengthStream(body.length);
    const writer = writable.getWriter();
    void writer.write(new TextEncoder().encode(body)).then(() => writer.close());
    const response = await target.fetch('/v1/search', {
      method: 'POST',
      headers: {
        ...customer.headers,
        'Content-Type': 'application/json',
        'Content-Length': String(body.length),
      },
      body: readable,
    });
    expect(response.status).toBe(200);
    const seen = (await response.json()) as { headers: Record<string, string>; bodyLength: number };
    expect(seen.headers['content-length']).toBe(String(body.length));
    expect(seen.headers['transfer-encoding']).toBeUndefined();
    expect(seen.bodyLength).toBe(body.length);
  });
});
