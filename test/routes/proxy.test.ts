/** The main path, happy and limiting: tiers, endpoint rules, headers on every status, concurrency. */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock';
import { decide } from '../../src/limiter/decide';
import { customerIdentity } from '../../src/limiter/keys';
import { DEFAULT_POLICY } from '../../src/policy/default-policy';
import { resolvePolicy } from '../../src/policy/resolve-policy';
import { createDurableObjectStore } from '../../src/store/durable-object-store';
import { createMemoryStore } from '../../src/store/memory-store';
import {
  burst,
  originEcho,
  sequence,
  silenceLogs,
  statusCounts,
  type TestWorker,
  testWorker,
  worker,
} from '../support/app';
import { EPOCH } from '../support/arbitraries';
import { createCustomer, randomIp, uniqueId } from '../support/customers';
import { redisSettings } from '../support/redis';

silenceLogs();

/** The draft-11 fields and X-RateLimit-* of a response, checked for shape. */
function expectRateLimitHeaders(response: Response, policy: string): void {
  const nowSeconds = Math.floor(Date.now() / 1000);
  expect(response.headers.get('X-RateLimit-Limit')).toMatch(/^\d+$/);
  expect(response.headers.get('X-RateLimit-Remaining')).toMatch(/^\d+$/);
  const reset = Number(response.headers.get('X-RateLimit-Reset'));
  expect(Number.isInteger(reset)).toBe(true);
  expect(reset).toBeGreaterThanOrEqual(nowSeconds);
  expect(reset).toBeLessThanOrEqual(nowSeconds + 86_401);
  expect(response.headers.get('RateLimit-Policy')).toBe(policy);
  const items = policy.split(', ').map((item) => item.slice(0, item.indexOf(';')));
  const field = new RegExp(`^${items.map((id) => `${id};r=\\d+;t=\\d+`).join(', ')}$`);
  expect(response.headers.get('RateLimit')).toMatch(field);
}

const FREE_POLICY = '"minute";q=100;w=60, "day";q=1000;w=86400';

describe('free tier', () => {
  it('answers the 101st request in a minute with 429 quota-exceeded problem+json', async () => {
    const customer = await createCustomer(env.CONFIG, { tier: 'free' });
    const started = Date.now();
    const responses = await sequence(worker, 101, '/v1/things', { headers: customer.headers });
    // The first request frees its unit 60 s after it was counted: less the time the burst took.
    const tookSeconds = Math.ceil((Date.now() - started) / 1000);
    expect(statusCounts(responses)).toEqual({ 200: 100, 429: 1 });
    const last = responses[100] as Response;
    expect(last.status).toBe(429);
    expect(last.headers.get('Content-Type')).toBe('application/problem+json');
    expect(last.headers.get('X-RateLimit-Remaining')).toBe('0');
    const retryAfter = Number(last.headers.get('Retry-After'));
    expect(retryAfter).toBeGreaterThanOrEqual(60 - tookSeconds);
    expect(retryAfter).toBeLessThanOrEqual(61);
    expectRateLimitHeaders(last, FREE_POLICY);
    const body = (await last.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      type: 'https://iana.org/assignments/http-problem-types#quota-exceeded',
      status: 429,
      'violated-policies': ['minute'],
      limit: 100,
      window: '1m',
      retryAfter,
      documentation: 'http://api.test/_edgelimit/docs/rate-limits',
    });
    expect(body.title).toEqual(expect.any(String));
    expect(body.detail).toContain(`customer ${customer.customerId}`);
    expect(Date.parse(String(body.retryAt))).toBeGreaterThan(Date.now());
    expect((await originEcho(responses[0] as Response)).headers['x-customer-tier']).toBe('free');
  });

  it('caps the day at 1000 even when every minute stays under 100 (pinned clock)', async () => {
    const clock = manualClock(EPOCH);
    const store = createMemoryStore(clock);
    const policy = resolvePolicy({
      policy: DEFAULT_POLICY,
      tier: 'free',
      method: 'GET',
      path: '/v1/x',
      now: EPOCH,
    });
    const identity = customerIdentity(uniqueId('day'));
    const outcomes: string[] = [];
    for (let minute = 0; minute < 11; minute++) {
      for (let i = 0; i < 100; i++) {
        clock.set(EPOCH + minute * 61_000 + i * 100);
        const d = await decide({ store, identity, policy, clock, budgetMs: 1_000 });
        outcomes.push(d.outcome);
        if (d.outcome === 'rejected') {
          expect(d.windows.filter((w) => w.retryAt > d.now).map((w) => w.id)).toEqual(['day']);
          expect(d.retryAt).toBeGreaterThan(EPOCH + 86_400_000 - 1);
          expect(d.retryAt).toBeLessThanOrEqual(EPOCH + 86_400_000 + 864_000);
        }
      }
    }
    expect(outcomes.filter((o) => o === 'allowed')).toHaveLength(1000);
    expect(outcomes.slice(1000).every((o) => o === 'rejected')).toBe(true);
  });
});

describe('pro tier', () => {
  it('has 1000 per minute and no day window', async () => {
    const customer = await createCustomer(env.CONFIG, { tier: 'pro' });
    const response = await worker.fetch('/v1/things', { headers: customer.headers });
    expect(response.status).toBe(200);
    expect(response.headers.get('X-RateLimit-Limit')).toBe('1000');
    expect(response.headers.get('X-RateLimit-Remaining')).toBe('999');
    expectRateLimitHeaders(response, '"minute";q=1000;w=60');
  });
});

describe('enterprise tier', () => {
  const record = { tier: 'enterprise' as const, limits: [{ limit: 3, window: '5s' }] };

  it('applies the custom window from KV: the 4th request in 5 s is a 429', async () => {
    const customer = await createCustomer(env.CONFIG, record);
    const responses = await sequence(worker, 4, '/v1/reports', { headers: customer.headers });
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 429]);
    expectRateLimitHeaders(responses[0] as Response, '"5s";q=3;w=5');
    const retryAfter = Number(responses[3]?.headers.get('Retry-After'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(6);
    expect(await responses[3]?.json()).toMatchObject({ 'violated-policies': ['5s'], limit: 3 });
  });

  it('allows again once the window has passed (Durable Object store, pinned time)', async () => {
    const store = createDurableObjectStore(env.LIMITER);
    const { windows } = resolvePolicy({
      policy: DEFAULT_POLICY,
      tier: 'enterprise',
      customer: record,
      method: 'GET',
      path: '/v1/reports',
      now: EPOCH,
    });
    const identity = customerIdentity(uniqueId('ent'));
    const at = (now: number) => store.check({ identity, windows, now });
    for (const dt of [0, 1_000, 2_000]) expect((await at(EPOCH + dt)).allowed).toBe(true);
    const fourth = await at(EPOCH + 3_000);
    expect(fourth.allowed).toBe(false);
    const retryAt = fourth.windows[0]?.retryAt ?? 0;
    expect(retryAt).toBeLessThanOrEqual(EPOCH + 5_000 + 50);
    expect((await at(retryAt - 1)).allowed).toBe(false);
    expect((await at(retryAt)).allowed).toBe(true);
  });
});

describe('anonymous callers', () => {
  it('are limited per client IP, each IP on its own', async () => {
    const a = randomIp();
    const b = randomIp();
    const fromA = await sequence(worker, 31, '/v1/public', { headers: { 'CF-Connecting-IP': a } });
    expect(statusCounts(fromA)).toEqual({ 200: 30, 429: 1 });
    expectRateLimitHeaders(fromA[0] as Response, '"minute";q=30;w=60, "day";q=300;w=86400');
    expect(await fromA[30]?.json()).toMatchObject({ 'violated-policies': ['minute'] });
    const fromB = await worker.fetch('/v1/public', { headers: { 'CF-Connecting-IP': b } });
    expect(fromB.status).toBe(200);
    expect(fromB.headers.get('X-RateLimit-Remaining')).toBe('29');
    expect((await originEcho(fromB)).headers['x-customer-tier']).toBe('anonymous');
  });
});

describe('endpoint rules', () => {
  it('limits POST /v1/search to 10/min on free, apart from other paths, all or nothing', async () => {
    const customer = await createCustomer(env.CONFIG, { tier: 'free' });
    const search = { method: 'POST', headers: customer.headers, body: '{}' };
    const searches = await sequence(worker, 12, '/v1/search', search);
    expect(searches.map((r) => r.status)).toEqual([...Array(10).fill(200), 429, 429]);
    const problem = (await searches[10]?.json()) as Record<string, unknown>;
    expect(problem).toMatchObject({ 'violated-policies': ['search:minute'], limit: 10 });
    expect(searches[0]?.headers.get('RateLimit-Policy')).toBe(
      `${FREE_POLICY}, "search:minute";q=10;w=60`,
    );

    const other = await worker.fetch('/v1/other', { headers: customer.headers });
    expect(other.status).toBe(200);
    // 10 searches + this request: the two rejected searches consumed no minute quota.
    expect(other.headers.get('X-RateLimit-Remaining')).toBe('89');
    expect(other.headers.get('RateLimit')).toMatch(/^"minute";r=89;t=\d+, "day";r=989;t=\d+$/);
  });
});

describe('headers on every response', () => {
  it('are added to origin 200, 404 and 503 answers, whose status and body pass through', async () => {
    const customer = await createCustomer(env.CONFIG, { tier: 'free' });
    for (const status of [200, 404, 503]) {
      const response = await worker.fetch(`/v1/echo?status=${status}`, {
        headers: customer.headers,
      });
      expect(response.status).toBe(status);
      expectRateLimitHeaders(response, FREE_POLICY);
      expect(response.headers.get('X-Edgelimit-Status')).toBe('allowed');
      expect((await originEcho(response)).path).toBe('/v1/echo');
    }
  });
});

describe('exact counts under concurrency', () => {
  /** Fires 150 requests at once for a fresh free customer and tallies the outcomes. */
  async function race(target: TestWorker) {
    const customer = await createCustomer(target.env.CONFIG, { tier: 'free' });
    const responses = await burst(target, 150, '/v1/race', { headers: customer.headers });
    return {
      statuses: statusCounts(responses),
      outcomes: responses.map((r) => r.headers.get('X-Edgelimit-Status')),
    };
  }

  it('allows exactly 100 of 150 concurrent requests with the Durable Object store', async () => {
    const { statuses, outcomes } = await race(testWorker({ STORE_BUDGET_MS: '5000' }));
    expect(statuses).toEqual({ 200: 100, 429: 50 });
    expect(outcomes.filter((o) => o === 'allowed')).toHaveLength(100);
  });

  it('allows exactly 100 of 150 concurrent requests with the Redis store', async () => {
    const { statuses, outcomes } = await race(
      testWorker({ ...redisSettings(), STORE_BUDGET_MS: '5000' }),
    );
    expect(statuses).toEqual({ 200: 100, 429: 50 });
    expect(outcomes.filter((o) => o === 'allowed')).toHaveLength(100);
  });
});

describe('CORS preflights', () => {
  it('are forwarded in their own window and never use up the anonymous one', async () => {
    const ip = randomIp();
    const preflight = {
      method: 'OPTIONS',
      headers: {
        'CF-Connecting-IP': ip,
        Origin: 'https://app.example',
        'Access-Control-Request-Method': 'POST',
      },
    };
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++)
      statuses.push((await worker.fetch('/v1/search', preflight)).status);
    expect(statuses).toEqual(statuses.map(() => 200));
    const real = await worker.fetch('/v1/items', { headers: { 'CF-Connecting-IP': ip } });
    expect(real.status).toBe(200);
    expect(real.headers.get('X-RateLimit-Remaining')).toBe('29');
  });
});
