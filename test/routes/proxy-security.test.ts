/** The main path's security: service-token bypass, 401s and key guessing, header spoofing. */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { countingKv, originEcho, sequence, silenceLogs, testWorker, worker } from '../support/app';
import { createCustomer, randomIp } from '../support/customers';
import { SEARCH_SPELLINGS } from '../support/hostile';

silenceLogs();

const GUESS_POLICY = '"auth-failures:minute";q=20;w=60';

describe('internal service tokens', () => {
  it('bypass limiting without touching any store, even with Redis down', async () => {
    const deadRedis = testWorker({
      LIMITER_STORE: 'redis',
      UPSTASH_REDIS_REST_URL: 'http://127.0.0.1:9',
      UPSTASH_REDIS_REST_TOKEN: 'nothing-listens-here',
    });
    const responses = await sequence(deadRedis, 3, '/v1/internal', {
      headers: { 'X-Service-Token': 'second-service-token', 'X-Service-Name': 'spoofed' },
    });
    for (const response of responses) {
      expect(response.status).toBe(200);
      expect(response.headers.get('X-Edgelimit-Status')).toBe('bypassed');
      expect(response.headers.get('X-RateLimit-Limit')).toBeNull();
    }
    const seen = await originEcho(responses[0] as Response);
    expect(seen.headers['x-service-name']).toBe('service-2');
    expect(seen.headers['x-service-token']).toBeUndefined();
  });

  it('are never a bypass when invalid, even alongside a valid API key', async () => {
    const customer = await createCustomer(env.CONFIG, { tier: 'pro' });
    const response = await worker.fetch('/v1/internal', {
      headers: {
        'X-Service-Token': 'not-a-service-token',
        ...customer.headers,
        'CF-Connecting-IP': randomIp(),
      },
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('Content-Type')).toBe('application/problem+json');
    expect(await response.json()).toMatchObject({
      status: 401,
      title: 'Invalid service token',
      code: 'invalid-service-token',
    });
  });
});

describe('failed authentication', () => {
  /** Asserts a 401 problem with its code and the auth-failures rate limit headers. */
  async function expect401(response: Response, code: string, detail?: string) {
    expect(response.status).toBe(401);
    expect(response.headers.get('Content-Type')).toBe('application/problem+json');
    expect(response.headers.get('WWW-Authenticate')).toContain('Bearer');
    expect(response.headers.get('RateLimit-Policy')).toBe(GUESS_POLICY);
    expect(response.headers.get('X-RateLimit-Limit')).toBe('20');
    expect(response.headers.get('X-RateLimit-Reset')).toMatch(/^\d{10}$/);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ status: 401, code });
    if (detail) expect(body.detail).toBe(detail);
  }

  it('answers an unknown key with 401', async () => {
    const response = await worker.fetch('/v1/x', {
      headers: {
        Authorization: 'Bearer el_this-key-was-never-issued',
        'CF-Connecting-IP': randomIp(),
      },
    });
    await expect401(response, 'unknown-api-key', 'the API key is not recognised.');
  });

  it('answers a revoked key with 401 once the admin API revoked it', async () => {
    const admin = { Authorization: 'Bearer test-admin-token', 'Content-Type': 'application/json' };
    const created = await worker.fetch('/_edgelimit/admin/keys', {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ customerId: `revoke-${crypto.randomUUID().slice(0, 8)}` }),
    });
    const { key } = (await created.json()) as { key: string };
    const ip = randomIp();
    const before = await worker.fetch('/v1/x', {
      headers: { 'X-API-Key': key, 'CF-Connecting-IP': ip },
    });
    expect(before.status).toBe(200);
    const revoked = await worker.fetch('/_edgelimit/admin/keys/revoke', {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ key }),
    });
    expect(revoked.status).toBe(200);
    const after = await worker.fetch('/v1/x', {
      headers: { 'X-API-Key': key, 'CF-Connecting-IP': ip },
    });
    await expect401(after, 'revoked-api-key', 'the API key has been revoked.');
  });

  it('says precisely what is wrong with a malformed key', async () => {
    const ip = randomIp();
    const short = await worker.fetch('/v1/x', {
      headers: { 'X-API-Key': 'abc', 'CF-Connecting-IP': ip },
    });
    await expect401(
      short,
      'malformed-api-key',
      'the API key is malformed: expected 8-200 characters of A-Z a-z 0-9 . _ ~ + / = -, got 3 characters.',
    );
    const mismatch = await worker.fetch('/v1/x', {
      headers: {
        'X-API-Key': 'aaaaaaaaaa',
        Authorization: 'Bearer bbbbbbbbbb',
        'CF-Connecting-IP': ip,
      },
    });
    await expect401(
      mismatch,
      'malformed-api-key',
      'X-API-Key and Authorization: Bearer carry different keys; send one of them.',
    );
  });

  it('turns the 21st failed attempt per IP per minute into a 429', async () => {
    const ip = randomIp();
    const responses = await sequence(worker, 21, '/v1/x', {
      headers: { 'X-API-Key': 'guessing-0000000000', 'CF-Connecting-IP': ip },
    });
    expect(responses.slice(0, 20).every((r) => r.status === 401)).toBe(true);
    expect(responses[19]?.headers.get('X-RateLimit-Remaining')).toBe('0');
    const last = responses[20] as Response;
    expect(last.status).toBe(429);
    expect(await last.json()).toMatchObject({ 'violated-policies': ['auth-failures:minute'] });
    // Another address is not affected.
    const other = await worker.fetch('/v1/x', {
      headers: { 'X-API-Key': 'guessing-0000000000', 'CF-Connecting-IP': randomIp() },
    });
    expect(other.status).toBe(401);
  });
});

describe('headers only the worker may set', () => {
  const spoofed = {
    'X-Customer-Id': 'someone-else',
    'X-Customer-Tier': 'enterprise',
    'X-Edgelimit-Status': 'bypassed',
    'X-Edgelimit-Anything': 'forged',
    'X-Service-Name': 'billing',
  };

  it('are stripped and replaced by the verified identity for a customer', async () => {
    const customer = await createCustomer(env.CONFIG, { tier: 'free' });
    const response = await worker.fetch('/v1/me', { headers: { ...spoofed, ...customer.headers } });
    const seen = (await originEcho(response)).headers;
    expect(seen['x-customer-id']).toBe(customer.customerId);
    expect(seen['x-customer-tier']).toBe('free');
    expect(seen['x-service-name']).toBeUndefined();
    expect(Object.keys(seen).filter((h) => h.startsWith('x-edgelimit-'))).toEqual([]);
  });

  it('are stripped for an anonymous caller, who gets no customer id', async () => {
    const response = await worker.fetch('/v1/me', {
      headers: { ...spoofed, 'CF-Connecting-IP': randomIp() },
    });
    const seen = (await originEcho(response)).headers;
    expect(seen['x-customer-id']).toBeUndefined();
    expect(seen['x-customer-tier']).toBe('anonymous');
    expect(seen['x-service-name']).toBeUndefined();
    expect(seen['x-edgelimit-anything']).toBeUndefined();
  });
});

describe('endpoint rules', () => {
  it('hold for every spelling of the path: 30 mixed spellings of POST /v1/search allow exactly 10', async () => {
    const customer = await createCustomer(env.CONFIG, { tier: 'free' });
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) {
      const path = SEARCH_SPELLINGS[i % SEARCH_SPELLINGS.length] as string;
      // Every third request is a GET that asks the origin to treat it as a POST.
      const override = i % 3 === 2;
      const response = await worker.fetch(path, {
        method: override ? 'GET' : 'POST',
        headers: {
          ...customer.headers,
          ...(override ? { 'X-HTTP-Method-Override': 'POST' } : {}),
        },
      });
      statuses.push(response.status);
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(20);
  });

  it('forward the path and the method-override header unchanged', async () => {
    const customer = await createCustomer(env.CONFIG, { tier: 'free' });
    const response = await worker.fetch('/v1/%73earch;x', {
      headers: { ...customer.headers, 'X-HTTP-Method': 'POST' },
    });
    expect(response.headers.get('RateLimit-Policy')).toContain('"search:minute"');
    const seen = await originEcho(response);
    expect(seen.path).toBe('/v1/%73earch;x');
    expect(seen.headers['x-http-method']).toBe('POST');
  });
});

describe('key guessing', () => {
  it('is refused unread past the failed-attempts limit: no KV read, and a right key gets the same 429', async () => {
    const counted = countingKv(env.CONFIG);
    const target = testWorker({ SEED_DEMO: 'false' }, { CONFIG: counted.kv });
    const customer = await createCustomer(env.CONFIG, { tier: 'free' });
    const ip = randomIp();
    const guess = (i: number) =>
      target.fetch('/v1/x', {
        headers: { 'X-API-Key': `guess-${i}-${crypto.randomUUID()}`, 'CF-Connecting-IP': ip },
      });
    for (let i = 0; i < 20; i++) expect((await guess(i)).status).toBe(401);
    const readsAtLimit = counted.reads('key:');
    const later = [];
    for (let i = 20; i < 70; i++) later.push((await guess(i)).status);
    expect(later).toEqual(later.map(() => 429));
    const right = await target.fetch('/v1/x', {
      headers: { ...customer.headers, 'CF-Connecting-IP': ip },
    });
    expect(right.status).toBe(429);
    expect(counted.reads('key:')).toBe(readsAtLimit);
    // The same key from another address is fine.
    const elsewhere = await target.fetch('/v1/x', {
      headers: { ...customer.headers, 'CF-Connecting-IP': randomIp() },
    });
    expect(elsewhere.status).toBe(200);
  });
});

describe('admin token guessing', () => {
  it('is limited per client address like key guessing: 200 wrong tokens get 20 401s, then 429s, and the right token too', async () => {
    const ip = randomIp();
    const statuses: number[] = [];
    for (let i = 0; i < 200; i++) {
      const response = await worker.fetch('/_edgelimit/admin/policy', {
        headers: { Authorization: `Bearer wrong-${i}`, 'CF-Connecting-IP': ip },
      });
      statuses.push(response.status);
    }
    expect(statuses.filter((s) => s === 401)).toHaveLength(20);
    expect(statuses.filter((s) => s === 429)).toHaveLength(180);
    const right = await worker.fetch('/_edgelimit/admin/metrics', {
      headers: { Authorization: 'Bearer test-admin-token', 'CF-Connecting-IP': ip },
    });
    expect(right.status).toBe(429);
    const elsewhere = await worker.fetch('/_edgelimit/admin/policy', {
      headers: { Authorization: 'Bearer test-admin-token', 'CF-Connecting-IP': randomIp() },
    });
    expect(elsewhere.status).toBe(200);
  });
});

describe('credential headers', () => {
  it('are configurable: with API_KEY_HEADERS=x-api-key a Bearer JWT goes to the origin untouched', async () => {
    const target = testWorker({ API_KEY_HEADERS: 'x-api-key' });
    const jwt = 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl';
    const anonymous = await target.fetch('/v1/me', {
      headers: { Authorization: jwt, 'CF-Connecting-IP': randomIp() },
    });
    expect(anonymous.status).toBe(200);
    expect((await originEcho(anonymous)).headers.authorization).toBe(jwt);
    const customer = await createCustomer(env.CONFIG, { tier: 'free' });
    const keyed = await target.fetch('/v1/me', {
      headers: { ...customer.headers, Authorization: jwt },
    });
    expect((await originEcho(keyed)).headers['x-customer-id']).toBe(customer.customerId);
  });

  it('may name a header the API itself uses, and refuse a list that would swallow service tokens', async () => {
    const target = testWorker({ API_KEY_HEADERS: 'x-client-key' });
    const customer = await createCustomer(env.CONFIG, { tier: 'free' });
    const keyed = await target.fetch('/v1/me', { headers: { 'X-Client-Key': customer.key } });
    expect((await originEcho(keyed)).headers['x-customer-id']).toBe(customer.customerId);
    const broken = testWorker({ API_KEY_HEADERS: 'x-api-key,x-service-token' });
    const response = await broken.fetch('/v1/me');
    expect(response.status).toBe(500);
    expect(await response.text()).toContain('API_KEY_HEADERS');
  });
});

describe('anonymous IPv6 callers', () => {
  /** A random /64 under 2001:db8::/32, as its four groups, so tests never share one. */
  function randomNet(): string[] {
    const [a = 0, b = 0] = crypto.getRandomValues(new Uint16Array(2));
    return ['2001', 'db8', a.toString(16), b.toString(16)];
  }

  it('are one identity however the address is spelled: six spellings count as one', async () => {
    const net = randomNet();
    const padded = net.map((g) => g.padStart(4, '0'));
    const spellings = [
      `${net.join(':')}:0:0:0:1`,
      `${net.join(':')}::1`,
      `${net.join(':').toUpperCase()}::0001`,
      `${padded.join(':')}:0000:0000:0000:0001`,
      `${padded.join(':')}:0::1`,
      `${net.join(':')}:0:0::1`,
    ];
    const remaining: (string | null)[] = [];
    for (const ip of spellings) {
      const response = await worker.fetch('/v1/x', { headers: { 'CF-Connecting-IP': ip } });
      remaining.push(response.headers.get('X-RateLimit-Remaining'));
    }
    expect(remaining).toEqual(['29', '28', '27', '26', '25', '24']);
  });

  it('share one window per /64 by default, and per address with ANON_IPV6_PREFIX=128', async () => {
    const net = randomNet().join(':');
    const statuses: number[] = [];
    for (let i = 1; i <= 31; i++) {
      const response = await worker.fetch('/v1/x', {
        headers: { 'CF-Connecting-IP': `${net}:${i.toString(16)}::${i.toString(16)}` },
      });
      statuses.push(response.status);
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(30);
    expect(statuses.at(-1)).toBe(429);
    const perAddress = testWorker({ ANON_IPV6_PREFIX: '128' });
    const other = randomNet().join(':');
    for (const host of ['1::1', '2::2']) {
      const response = await perAddress.fetch('/v1/x', {
        headers: { 'CF-Connecting-IP': `${other}:${host}` },
      });
      expect(response.headers.get('X-RateLimit-Remaining')).toBe('29');
    }
  });
});
