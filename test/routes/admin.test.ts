/** Admin API: auth, validation, keys, customers, overrides, and raw KV edits taking effect. */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { kvKeys } from '../../src/policy/config-store';
import { originEcho, silenceLogs, testWorker, worker } from '../support/app';
import { createCustomer, uniqueId } from '../support/customers';

silenceLogs();

const ADMIN = { Authorization: 'Bearer test-admin-token', 'Content-Type': 'application/json' };

/** Calls the admin API with the admin token. */
function admin(method: string, path: string, body?: unknown): Promise<Response> {
  return worker.fetch(`/_edgelimit/admin${path}`, {
    method,
    headers: ADMIN,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
}

interface InvalidBody {
  status: number;
  errors: { field: string; message: string }[];
}

describe('admin authentication', () => {
  it('answers 401 without a token and with a wrong one', async () => {
    const none = await worker.fetch('/_edgelimit/admin/customers/demo-free');
    const wrong = await worker.fetch('/_edgelimit/admin/customers/demo-free', {
      headers: { Authorization: 'Bearer demo-admin-token-wrong' },
    });
    for (const response of [none, wrong]) {
      expect(response.status).toBe(401);
      expect(response.headers.get('Content-Type')).toBe('application/problem+json');
    }
    // A service token is not an admin token.
    const service = await worker.fetch('/_edgelimit/admin/customers/demo-free', {
      headers: { Authorization: 'Bearer test-service-token' },
    });
    expect(service.status).toBe(401);
  });
});

describe('admin validation', () => {
  it('names the exact field that is wrong', async () => {
    const response = await admin('PUT', `/customers/${uniqueId('val')}`, {
      tier: 'enterprise',
      limits: [{ limit: 3, window: '5x' }],
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as InvalidBody;
    expect(body.errors.map((e) => e.field)).toEqual(['limits.0.window']);
    expect(body.errors[0]?.message).toContain('<n>s');
  });

  it('rejects missing fields, unknown tiers, bad ids and non-JSON bodies', async () => {
    const noId = (await (await admin('POST', '/keys', {})).json()) as InvalidBody;
    expect(noId.errors.map((e) => e.field)).toEqual(['customerId']);
    const tier = (await (
      await admin('POST', '/keys', { customerId: 'x1', tier: 'gold' })
    ).json()) as InvalidBody;
    expect(tier.errors.map((e) => e.field)).toEqual(['tier']);
    const badId = await admin('GET', '/customers/_hidden');
    expect(badId.status).toBe(400);
    expect(((await badId.json()) as InvalidBody).errors[0]?.field).toBe('id');
    const notJson = (await (await admin('POST', '/keys', 'nope')).json()) as InvalidBody;
    expect(notJson.errors[0]?.field).toBe('(body)');
  });
});

describe('admin keys and customers', () => {
  it('creates a key that works immediately', async () => {
    const customerId = uniqueId('new');
    const created = await admin('POST', '/keys', { customerId, tier: 'pro' });
    expect(created.status).toBe(201);
    const { key, tier } = (await created.json()) as { key: string; tier: string };
    expect(tier).toBe('pro');
    expect(key).toMatch(/^el_[A-Za-z0-9_-]{43}$/);
    const response = await worker.fetch('/v1/x', { headers: { Authorization: `Bearer ${key}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('X-RateLimit-Limit')).toBe('1000');
    expect((await originEcho(response)).headers['x-customer-id']).toBe(customerId);
    // The key itself is never stored, only its hash.
    const listed = await env.CONFIG.list({ prefix: 'key:' });
    expect(listed.keys.some((k) => k.name.includes(key))).toBe(false);
  });

  it('stores a customer record and reads it back', async () => {
    const id = uniqueId('put');
    const record = {
      tier: 'enterprise',
      limits: [{ limit: 7, window: '10s' }],
      endpoints: [
        {
          id: 'export',
          method: 'GET',
          path: '/v1/export/**',
          limits: [{ limit: 1, window: '1m' }],
        },
      ],
    };
    expect((await admin('PUT', `/customers/${id}`, record)).status).toBe(200);
    const read = await admin('GET', `/customers/${id}`);
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ customerId: id, ...record, activeOverride: null });
    expect((await admin('GET', `/customers/${uniqueId('none')}`)).status).toBe(404);
  });

  it('applies a temporary override at once and lists it', async () => {
    const customerId = uniqueId('ovr');
    const { key } = (await (await admin('POST', '/keys', { customerId })).json()) as {
      key: string;
    };
    const headers = { 'X-API-Key': key };
    expect((await worker.fetch('/v1/x', { headers })).headers.get('X-RateLimit-Limit')).toBe('100');

    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    const override = { limits: [{ limit: 500, window: '1m' }], expiresAt, reason: 'launch day' };
    const posted = await admin('POST', `/customers/${customerId}/overrides`, override);
    expect(posted.status).toBe(201);

    const raised = await worker.fetch('/v1/x', { headers });
    expect(raised.headers.get('X-RateLimit-Limit')).toBe('500');
    expect(raised.headers.get('RateLimit-Policy')).toBe(
      '"minute";q=500;w=60, "day";q=1000;w=86400',
    );
    const read = (await (await admin('GET', `/customers/${customerId}`)).json()) as {
      overrides: { reason: string }[];
      activeOverride: { reason: string } | null;
    };
    expect(read.overrides.map((o) => o.reason)).toEqual(['launch day']);
    expect(read.activeOverride?.reason).toBe('launch day');
  });

  it('refuses an override that has already expired', async () => {
    const response = await admin('POST', `/customers/${uniqueId('old')}/overrides`, {
      limits: [{ limit: 5, window: '1m' }],
      expiresAt: new Date(Date.now() - 1_000).toISOString(),
      reason: 'too late',
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as InvalidBody).errors[0]?.field).toBe('expiresAt');
  });
});

describe('raw KV edits', () => {
  it('apply after the config cache TTL, and a malformed edit keeps the last good record', async () => {
    const app = testWorker({ CONFIG_TTL_MS: '0', LIMITER_STORE: 'memory' });
    const customer = await createCustomer(app.env.CONFIG, { tier: 'free' });
    const limit = async () =>
      (await app.fetch('/v1/x', { headers: customer.headers })).headers.get('X-RateLimit-Limit');
    expect(await limit()).toBe('100');

    await app.env.CONFIG.put(kvKeys.customer(customer.customerId), JSON.stringify({ tier: 'pro' }));
    expect(await limit()).toBe('1000');

    await app.env.CONFIG.put(kvKeys.customer(customer.customerId), '{"tier":"platinum"}');
    expect(await limit()).toBe('1000');
  });
});

describe('listing and revoking keys by id or prefix', () => {
  it('lists keys without the key or its full hash, and refuses an ambiguous prefix', async () => {
    const customerId = uniqueId('listed');
    const prefix = uniqueId('p').slice(0, 10);
    const hashes = ['a', 'b'].map((c) => `${c.repeat(12)}${crypto.randomUUID().replace(/-/g, '')}`);
    for (const hash of hashes) {
      await env.CONFIG.put(
        kvKeys.apiKey(hash),
        JSON.stringify({ customerId, createdAt: new Date().toISOString(), prefix }),
      );
    }
    const listed = await admin('GET', `/keys?customerId=${customerId}`);
    expect(listed.status).toBe(200);
    const text = await listed.text();
    const { keys } = JSON.parse(text) as { keys: { id: string; prefix: string }[] };
    expect(keys.map((k) => k.id).sort()).toEqual(['aaaaaaaaaaaa', 'bbbbbbbbbbbb']);
    for (const hash of hashes) expect(text).not.toContain(hash);

    const ambiguous = await admin('POST', '/keys/revoke', { prefix });
    expect(ambiguous.status).toBe(409);
    expect(await ambiguous.text()).toContain('aaaaaaaaaaaa');
    const byId = await admin('POST', '/keys/revoke', { id: 'aaaaaaaaaaaa' });
    expect(byId.status).toBe(200);
    // Only one live key has the prefix now: the prefix is enough.
    const byPrefix = await admin('POST', '/keys/revoke', { prefix });
    expect(((await byPrefix.json()) as { id: string }).id).toBe('bbbbbbbbbbbb');
    const bad = await admin('POST', '/keys/revoke', { id: 'not-hex' });
    expect(bad.status).toBe(400);
  });

  it('ends the override in force early, keeping it in the record as expired', async () => {
    const customer = await createCustomer(env.CONFIG, { tier: 'free' });
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    await admin('POST', `/customers/${customer.customerId}/overrides`, {
      limits: [{ limit: 500, window: '1m' }],
      expiresAt,
      reason: 'launch',
    });
    const ended = await admin('POST', `/customers/${customer.customerId}/overrides/end`, {});
    expect(ended.status).toBe(200);
    const body = (await ended.json()) as {
      ended: { reason: string }[];
      activeOverride: unknown;
      record: { overrides: { expiresAt: string }[] };
    };
    expect(body.ended.map((o) => o.reason)).toEqual(['launch']);
    expect(body.activeOverride).toBeNull();
    expect(Date.parse(body.record.overrides[0]?.expiresAt ?? '')).toBeLessThanOrEqual(Date.now());
    const res = await worker.fetch('/v1/things', { headers: customer.headers });
    expect(res.headers.get('X-RateLimit-Limit')).toBe('100');
    const none = await admin('POST', `/customers/${customer.customerId}/overrides/end`, {});
    expect(none.status).toBe(409);
  });
});

describe('empty limit lists', () => {
  it('are a 400 naming the field, for customers, tiers and keyGuessLimit', async () => {
    const id = uniqueId('empty');
    const customer = await admin('PUT', `/customers/${id}`, { tier: 'free', limits: [] });
    expect(customer.status).toBe(400);
    expect(((await customer.json()) as InvalidBody).errors[0]?.field).toBe('limits');
    const policy = (await (await admin('GET', '/policy')).json()) as Record<string, unknown>;
    const tiers = policy.tiers as Record<string, unknown>;
    for (const [field, body] of [
      ['tiers.free', { ...policy, tiers: { ...tiers, free: [] } }],
      ['keyGuessLimit', { ...policy, keyGuessLimit: [] }],
    ] as const) {
      const response = await admin('PUT', '/policy', body);
      expect(response.status).toBe(400);
      expect(((await response.json()) as InvalidBody).errors.map((e) => e.field)).toEqual([field]);
    }
  });

  it('leave unlimited to be said explicitly, shown in /rate_limit', async () => {
    const id = uniqueId('unlimited');
    const both = await admin('PUT', `/customers/${id}`, {
      tier: 'enterprise',
      unlimited: true,
      limits: [{ limit: 5, window: '1m' }],
    });
    expect(both.status).toBe(400);
    const put = await admin('PUT', `/customers/${id}`, { tier: 'enterprise', unlimited: true });
    expect(put.status).toBe(200);
    const { key } = (await (await admin('POST', '/keys', { customerId: id })).json()) as {
      key: string;
    };
    const view = await worker.fetch('/_edgelimit/rate_limit', { headers: { 'X-API-Key': key } });
    const body = (await view.json()) as { unlimited?: boolean; windows: { rule: string | null }[] };
    expect(body.unlimited).toBe(true);
    // No tier window at all; endpoint rules still apply.
    expect(body.windows.map((w) => w.rule)).toEqual(['search']);
  });
});

describe('admin request bodies', () => {
  it('are refused with 413 past 256 KiB, before being parsed', async () => {
    const huge = JSON.stringify({ tier: 'free', padding: 'x'.repeat(20 * 1024 * 1024) });
    const response = await admin('PUT', `/customers/${uniqueId('huge')}`, huge);
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ status: 413, title: 'Payload too large' });
  });
});
