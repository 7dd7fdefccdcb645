/**
 * Concurrency limits end to end: the worker in workerd in front of a real, slow origin on
 * 127.0.0.1 (test/support/gate-origin.ts), whose requests end when the test says so.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, inject, it } from 'vitest';
import { type Settings, silenceLogs, statusCounts, testWorker } from '../support/app';
import { createCustomer, uniqueId } from '../support/customers';
import { redisSettings } from '../support/redis';

silenceLogs();

const GATE = inject('gateOriginUrl');

/** Asks the gate origin something about a group (`wait`, `arrived`, `release`). */
async function gate(action: string, group: string, extra = ''): Promise<Record<string, number>> {
  const response = await fetch(`${GATE}/_control/${action}?group=${group}${extra}`);
  return (await response.json()) as Record<string, number>;
}

/** Starts requests and resolves `settled(n)` once n of them have answered. */
function inFlight(requests: Promise<Response>[]) {
  const answered: Response[] = [];
  const waits: { n: number; done: () => void }[] = [];
  for (const r of requests) {
    void r.then((response) => {
      answered.push(response);
      for (const w of waits) if (answered.length >= w.n) w.done();
    });
  }
  return {
    settled: (n: number) =>
      new Promise<Response[]>((resolve) => {
        if (answered.length >= n) resolve([...answered]);
        else waits.push({ n, done: () => resolve([...answered]) });
      }),
    all: () => Promise.all(requests),
  };
}

const MODES: Record<string, Settings> = {
  memory: { LIMITER_STORE: 'memory' },
  'durable-object': { LIMITER_STORE: 'durable-object' },
  hybrid: { ...redisSettings(), LIMITER_STORE: 'hybrid' },
  redis: redisSettings(),
};

for (const [mode, settings] of Object.entries(MODES)) {
  describe(`concurrency limits (${mode} store)`, () => {
    // A generous store budget: this shared machine can be slow, and a failed-open check would
    // forward everything (the fail-mode test below covers that path).
    const worker = testWorker({
      ...settings,
      ORIGIN_URL: GATE,
      CONFIG_TTL_MS: '0',
      STORE_BUDGET_MS: '2000',
    });

    it('forwards exactly 3 of 10 simultaneous slow requests, refuses 7, then lets 3 more through at once', async () => {
      const customer = await createCustomer(env.CONFIG, { tier: 'pro', concurrency: 3 });
      const group = uniqueId('g');
      const slow = `/v1/report?group=${group}&hold=1`;
      const send = () => worker.fetch(slow, { headers: customer.headers });
      const first = inFlight(Array.from({ length: 10 }, send));
      const refused = await first.settled(7);
      expect(statusCounts(refused)).toEqual({ 429: 7 });
      expect((await gate('wait', group, '&n=3')).held).toBe(3);
      const rejection = refused[0] as Response;
      expect(rejection.headers.get('Retry-After')).toBe('1');
      expect(rejection.headers.get('RateLimit-Policy')).toBe(
        '"minute";q=1000;w=60, "concurrency";q=3;qu="concurrent-requests"',
      );
      expect(rejection.headers.get('RateLimit')).toMatch(
        /^"minute";r=997;t=\d+, "concurrency";r=0$/,
      );
      const body = (await rejection.json()) as Record<string, unknown>;
      expect(body['violated-policies']).toEqual(['concurrency']);
      expect(body.detail).toContain('3 requests in flight at once');
      expect(body.retryAfter).toBe(1);

      await gate('release', group);
      const done = await first.all();
      expect(statusCounts(done)).toEqual({ 200: 3, 429: 7 });
      // Reading a body to its end gives its slot back.
      for (const r of done) if (r.status === 200) await r.text();
      expect((await gate('arrived', group)).arrived).toBe(3);

      const second = inFlight(Array.from({ length: 4 }, send));
      expect(statusCounts(await second.settled(1))).toEqual({ 429: 1 });
      expect((await gate('wait', group, '&n=3')).held).toBe(3);
      await gate('release', group);
      const more = await second.all();
      expect(statusCounts(more)).toEqual({ 200: 3, 429: 1 });
      for (const r of more) if (r.status === 200) await r.text();
      expect((await gate('arrived', group)).arrived).toBe(6);
    });

    it('holds the slot while the body streams and frees it when the client disconnects', async () => {
      const customer = await createCustomer(env.CONFIG, { tier: 'pro', concurrency: 1 });
      const group = uniqueId('g');
      const streaming = await worker.fetch(`/v1/export?group=${group}&hold=stream`, {
        headers: customer.headers,
      });
      expect(streaming.status).toBe(200);
      expect(streaming.headers.get('RateLimit')).toMatch(/"concurrency";r=0$/);
      const reader = streaming.body?.getReader();
      const chunk = await reader?.read();
      expect(new TextDecoder().decode(chunk?.value)).toBe('first\n');
      const meanwhile = await worker.fetch(`/v1/x?group=${group}`, { headers: customer.headers });
      expect(meanwhile.status).toBe(429);
      await meanwhile.text();

      await reader?.cancel('client went away');
      const after = await worker.fetch(`/v1/x?group=${group}`, { headers: customer.headers });
      expect(after.status).toBe(200);
      await after.text();
      await gate('release', group);
    });
  });
}

describe('concurrency limits and failures', () => {
  it('gives the slot back when the origin cannot be reached', async () => {
    const worker = testWorker({ ORIGIN_URL: 'http://127.0.0.1:1', CONFIG_TTL_MS: '0' });
    const customer = await createCustomer(env.CONFIG, { tier: 'pro', concurrency: 1 });
    const statuses = [];
    for (let i = 0; i < 3; i++) {
      const r = await worker.fetch('/v1/x', { headers: customer.headers });
      statuses.push(r.status);
      await r.text();
    }
    expect(statuses).toEqual([502, 502, 502]);
  });

  it('follows the fail mode when the store is down: open passes, closed answers 503', async () => {
    const down = {
      LIMITER_STORE: 'redis',
      UPSTASH_REDIS_REST_URL: 'http://127.0.0.1:1',
      UPSTASH_REDIS_REST_TOKEN: 'x',
    };
    const worker = testWorker({ ...down, CONFIG_TTL_MS: '0' });
    const open = await createCustomer(env.CONFIG, { tier: 'pro', concurrency: 1 });
    const closed = await createCustomer(env.CONFIG, {
      tier: 'pro',
      concurrency: 1,
      failMode: 'closed',
    });
    const a = await worker.fetch('/v1/x', { headers: open.headers });
    expect([a.status, a.headers.get('X-Edgelimit-Status')]).toEqual([200, 'failed-open']);
    const b = await worker.fetch('/v1/x', { headers: closed.headers });
    expect([b.status, b.headers.get('X-Edgelimit-Status')]).toEqual([503, 'failed-closed']);
  });

  it('never takes a slot for internal service traffic', async () => {
    const worker = testWorker({ ORIGIN_URL: GATE });
    const group = uniqueId('g');
    const calls = inFlight(
      Array.from({ length: 5 }, () =>
        worker.fetch(`/v1/x?group=${group}&hold=1`, {
          headers: { 'X-Service-Token': 'test-service-token' },
        }),
      ),
    );
    expect((await gate('wait', group, '&n=5')).held).toBe(5);
    await gate('release', group);
    expect(statusCounts(await calls.all())).toEqual({ 200: 5 });
  });
});
