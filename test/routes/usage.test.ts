import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { rateLimitSchema, usageSchema } from '../../src/http/usage-api';
import { worker } from '../support/app';
import { createCustomer, randomIp } from '../support/customers';
import { appWith } from '../telemetry/helpers';

const app = () => appWith({ LIMITER_STORE: 'memory' });

describe('GET /_edgelimit/usage', () => {
  it('reports the caller’s own requests per minute, split allowed/rejected and by rule', async () => {
    const worker = app();
    const customer = await createCustomer(env.CONFIG, {
      tier: 'enterprise',
      limits: [{ limit: 4, window: '1h' }],
      endpoints: [
        { id: 'search', method: 'POST', path: '/v1/search', limits: [{ limit: 1, window: '1h' }] },
      ],
    });
    const other = await createCustomer(env.CONFIG, { tier: 'free' });
    await worker.fetch('/v1/items', { headers: other.headers });
    for (let i = 0; i < 2; i++) await worker.fetch('/v1/items', { headers: customer.headers });
    await worker.fetch('/v1/search', { method: 'POST', headers: customer.headers });
    await worker.fetch('/v1/search', { method: 'POST', headers: customer.headers });
    await worker.fetch('/v1/items/9', { headers: customer.headers });
    await worker.fetch('/v1/items/10', { headers: customer.headers });

    const res = await worker.fetch(
      `/_edgelimit/usage?range=1h&resolution=minute&customerId=${other.customerId}`,
      {
        headers: { Authorization: `Bearer ${customer.key}` },
      },
    );
    expect(res.status).toBe(200);
    const body = usageSchema.parse(await res.json());
    expect(body.customerId).toBe(customer.customerId);
    expect(body.tier).toBe('enterprise');
    expect(body.resolution).toBe('minute');
    expect(body.source).toBe('embedded');
    expect(body.series).toHaveLength(60);
    expect(Date.parse(body.series[0]?.t ?? '')).toBe(Date.parse(body.range.from));
    expect(body.series.reduce((n, p) => n + p.allowed, 0)).toBe(4);
    expect(body.totals).toEqual({ allowed: 4, rejected: 2 });
    expect(body.byRule).toEqual([
      { rule: 'default', allowed: 3, rejected: 1 },
      { rule: 'search', allowed: 1, rejected: 1 },
    ]);
    expect(body.recentRejections.map((r) => [r.method, r.path, r.window])).toEqual([
      ['GET', '/v1/items/10', 'hour'],
      ['POST', '/v1/search', 'search:hour'],
    ]);
  });

  it('groups identical rejections: one row with the count, first and last seen', async () => {
    const worker = app();
    const customer = await createCustomer(env.CONFIG, {
      tier: 'enterprise',
      limits: [{ limit: 1, window: '1h' }],
    });
    for (let i = 0; i < 5; i++) await worker.fetch('/v1/items', { headers: customer.headers });
    await worker.fetch('/v1/other', { headers: customer.headers });
    const body = usageSchema.parse(
      await (
        await worker.fetch('/_edgelimit/usage?range=1h', { headers: customer.headers })
      ).json(),
    );
    expect(body.recentRejections).toHaveLength(5);
    expect((body.rejectionGroups ?? []).map((g) => [g.method, g.path, g.window, g.count])).toEqual([
      ['GET', '/v1/other', 'hour', 1],
      ['GET', '/v1/items', 'hour', 4],
    ]);
    const items = body.rejectionGroups?.[1];
    expect(Date.parse(items?.first ?? '')).toBeLessThanOrEqual(Date.parse(items?.last ?? ''));
  });

  it('answers 401 problem+json without a valid key', async () => {
    const worker = app();
    const anonymous = await worker.fetch('/_edgelimit/usage', {
      headers: { 'CF-Connecting-IP': randomIp() },
    });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('Content-Type')).toBe('application/problem+json');
    const unknown = await worker.fetch('/_edgelimit/usage', {
      headers: { 'X-API-Key': 'unknown-key-123456', 'CF-Connecting-IP': randomIp() },
    });
    expect(unknown.status).toBe(401);
    expect(((await unknown.json()) as { code: string }).code).toBe('unknown-api-key');
  });

  it('refuses bad parameters naming them, including more than 1440 points', async () => {
    const worker = app();
    const customer = await createCustomer(env.CONFIG, { tier: 'free' });
    const get = async (query: string) => {
      const res = await worker.fetch(`/_edgelimit/usage?${query}`, { headers: customer.headers });
      return {
        status: res.status,
        body: (await res.json()) as { detail: string; errors: { field: string }[] },
      };
    };
    const tooFine = await get('range=30d&resolution=minute');
    expect(tooFine.status).toBe(400);
    expect(tooFine.body.errors.map((e) => e.field)).toEqual(['resolution']);
    const badRange = await get('range=2y');
    expect(badRange.status).toBe(400);
    expect(badRange.body.errors.map((e) => e.field)).toEqual(['range']);
    expect((await get('range=24h&resolution=second')).body.errors.map((e) => e.field)).toEqual([
      'resolution',
    ]);
    expect((await get('range=24h&resolution=minute')).status).toBe(200);
    const defaults = usageSchema.parse(
      await (await worker.fetch('/_edgelimit/usage', { headers: customer.headers })).json(),
    );
    expect([defaults.resolution, defaults.series.length]).toEqual(['hour', 24]);
  });

  it('never consumes rate limit', async () => {
    const worker = app();
    const customer = await createCustomer(env.CONFIG, {
      tier: 'enterprise',
      limits: [{ limit: 1, window: '1h' }],
    });
    for (let i = 0; i < 3; i++) {
      expect((await worker.fetch('/_edgelimit/usage', { headers: customer.headers })).status).toBe(
        200,
      );
    }
    expect((await worker.fetch('/v1/items', { headers: customer.headers })).status).toBe(200);
  });

  it('answers CORS preflights for the dashboard origin only', async () => {
    const worker = app();
    const preflight = (origin: string) =>
      worker.fetch('/_edgelimit/usage', {
        method: 'OPTIONS',
        headers: {
          Origin: origin,
          'Access-Control-Request-Method': 'GET',
          'Access-Control-Request-Headers': 'x-api-key',
        },
      });
    const ok = await preflight('http://127.0.0.1:8788');
    expect(ok.status).toBe(204);
    expect(ok.headers.get('Access-Control-Allow-Origin')).toBe('http://127.0.0.1:8788');
    expect(ok.headers.get('Access-Control-Allow-Headers')?.toLowerCase()).toContain('x-api-key');
    const evil = await preflight('https://evil.example');
    expect(evil.headers.get('Access-Control-Allow-Origin')).toBeNull();
  });
});

describe('GET /_edgelimit/rate_limit', () => {
  it('lists every window that applies, rule windows included, without consuming', async () => {
    const worker = app();
    const customer = await createCustomer(env.CONFIG, { tier: 'free' });
    const read = async () => {
      const res = await worker.fetch('/_edgelimit/rate_limit', { headers: customer.headers });
      expect(res.status).toBe(200);
      return rateLimitSchema.parse(await res.json());
    };
    const first = await read();
    expect(first.customerId).toBe(customer.customerId);
    expect(first.tier).toBe('free');
    expect(first.override).toBeNull();
    expect(
      first.windows.map((w) => [w.id, w.limit, w.remaining, w.window, w.windowMs, w.rule]),
    ).toEqual([
      ['minute', 100, 100, '1m', 60_000, null],
      ['day', 1000, 1000, '1d', 86_400_000, null],
      ['search:minute', 10, 10, '1m', 60_000, 'search'],
    ]);
    expect(Number.isNaN(Date.parse(first.windows[0]?.resetAt ?? ''))).toBe(false);
    for (let i = 0; i < 4; i++) await read();
    expect((await read()).windows.map((w) => w.remaining)).toEqual([100, 1000, 10]);

    await worker.fetch('/v1/search', { method: 'POST', headers: customer.headers });
    await worker.fetch('/v1/items', { headers: customer.headers });
    expect((await read()).windows.map((w) => w.remaining)).toEqual([98, 998, 9]);
  });

  it('says when the next request is allowed and when the whole quota is back, and names rule endpoints', async () => {
    const worker = app();
    const customer = await createCustomer(env.CONFIG, {
      tier: 'enterprise',
      limits: [
        { limit: 2, window: '1h' },
        { limit: 100, window: '1d' },
      ],
    });
    const read = async () =>
      rateLimitSchema.parse(
        await (await worker.fetch('/_edgelimit/rate_limit', { headers: customer.headers })).json(),
      );
    const untouched = (await read()).windows[0];
    expect(untouched?.nextAllowedAt).toBe(untouched?.fullAt);

    const first = Date.now();
    await worker.fetch('/v1/items', { headers: customer.headers });
    const partly = (await read()).windows;
    const hour = partly.find((w) => w.id === 'hour');
    const day = partly.find((w) => w.id === 'day');
    // One left: the next request is allowed now; the whole quota is back an hour after the use.
    expect(Date.parse(hour?.nextAllowedAt ?? '')).toBeLessThanOrEqual(Date.now() + 1000);
    expect(Date.parse(hour?.fullAt ?? '')).toBeGreaterThanOrEqual(first + 3_600_000);
    expect(Date.parse(day?.fullAt ?? '')).toBeGreaterThanOrEqual(first + 86_400_000);

    await worker.fetch('/v1/items', { headers: customer.headers });
    const full = (await read()).windows.find((w) => w.id === 'hour');
    expect(full?.remaining).toBe(0);
    // None left: the next request waits for the first use to leave; all is back after the second.
    expect(Date.parse(full?.nextAllowedAt ?? '')).toBeGreaterThanOrEqual(first + 3_600_000);
    expect(Date.parse(full?.fullAt ?? '')).toBeGreaterThanOrEqual(
      Date.parse(full?.nextAllowedAt ?? ''),
    );
    expect(full?.nextAllowedAt).toBe(full?.resetAt);

    const free = await createCustomer(env.CONFIG, { tier: 'free' });
    const rules = rateLimitSchema
      .parse(await (await worker.fetch('/_edgelimit/rate_limit', { headers: free.headers })).json())
      .windows.map((w) => [w.id, w.method, w.path]);
    expect(rules).toEqual([
      ['minute', null, null],
      ['day', null, null],
      ['search:minute', 'POST', '/v1/search'],
    ]);
  });

  it('shows an override in force, and anonymous callers their per-address windows', async () => {
    const worker = app();
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    const customer = await createCustomer(env.CONFIG, {
      tier: 'free',
      overrides: [{ limits: [{ limit: 500, window: '1m' }], expiresAt, reason: 'launch' }],
    });
    const body = rateLimitSchema.parse(
      await (await worker.fetch('/_edgelimit/rate_limit', { headers: customer.headers })).json(),
    );
    expect(body.override).toMatchObject({ expiresAt, reason: 'launch' });
    expect(body.windows.find((w) => w.id === 'minute')?.limit).toBe(500);

    const anon = rateLimitSchema.parse(
      await (
        await worker.fetch('/_edgelimit/rate_limit', {
          headers: { 'CF-Connecting-IP': randomIp() },
        })
      ).json(),
    );
    expect([anon.customerId, anon.tier]).toEqual([null, 'anonymous']);
    expect(anon.windows.map((w) => w.id)).toContain('minute');
  });
});

describe('the read endpoints', () => {
  it('have their own window per caller: 300 /usage calls on one key answer 60, then 429', async () => {
    const customer = await createCustomer(env.CONFIG, { tier: 'free' });
    const statuses: number[] = [];
    for (let i = 0; i < 300; i++) {
      const response = await worker.fetch('/_edgelimit/usage?range=1h', {
        headers: customer.headers,
      });
      statuses.push(response.status);
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(60);
    expect(statuses.filter((s) => s === 429)).toHaveLength(240);
    // API traffic is a separate window: still allowed.
    expect((await worker.fetch('/v1/x', { headers: customer.headers })).status).toBe(200);
  });

  it('limit anonymous /rate_limit calls per client address: 200 calls answer 60', async () => {
    const ip = randomIp();
    const statuses: number[] = [];
    for (let i = 0; i < 200; i++) {
      const response = await worker.fetch('/_edgelimit/rate_limit', {
        headers: { 'CF-Connecting-IP': ip },
      });
      statuses.push(response.status);
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(60);
    expect(statuses.filter((s) => s === 429)).toHaveLength(140);
  });
});
