import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { Redis } from '@upstash/redis/cloudflare';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { windowKey } from '../../src/limiter/algorithms/sliding-window/keys';
import { customerIdentity, snapshotKey } from '../../src/limiter/keys';
import { getServices } from '../../src/services';
import { createDurableObjectStore } from '../../src/store/durable-object-store';
import { decodeWindows } from '../../src/store/snapshot-codec';
import { usageStub } from '../../src/telemetry/embedded-usage';
import { setLogSink } from '../../src/telemetry/log';
import { runScheduledChecks } from '../../src/telemetry/scheduled-checks';
import { testWorker } from '../support/app';
import { createCustomer, randomIp, uniqueId } from '../support/customers';

const control = (path: string) => fetch(`${inject('chaosControlUrl')}${path}`, { method: 'POST' });

/** A worker whose Redis is the breakable chaos pair. */
function chaosWorker(overrides: Record<string, string> = {}) {
  return testWorker({
    LIMITER_STORE: 'redis',
    UPSTASH_REDIS_REST_URL: inject('chaosUpstashUrl'),
    UPSTASH_REDIS_REST_TOKEN: inject('chaosUpstashToken'),
    STORE_BUDGET_MS: '200',
    BREAKER_FAILURES: '3',
    BREAKER_OPEN_MS: '300',
    ...overrides,
  });
}

afterEach(async () => {
  await control('/redis/start');
  await control('/delay?ms=0');
});

describe('when Redis fails', () => {
  it('keeps requests flowing (marked failed-open), leaves internal traffic alone, and the breaker opens and closes', async () => {
    const lines: string[] = [];
    const previous = setLogSink((line) => lines.push(line));
    try {
      const worker = chaosWorker();
      const customer = await createCustomer(env.CONFIG, { tier: 'free' });
      const ok = await worker.fetch('/v1/items', { headers: customer.headers });
      expect(ok.headers.get('X-Edgelimit-Status')).toBe('allowed');

      await control('/redis/stop');
      const during = [];
      for (let i = 0; i < 6; i++)
        during.push(await worker.fetch('/v1/items', { headers: customer.headers }));
      expect(during.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
      expect(new Set(during.map((r) => r.headers.get('X-Edgelimit-Status')))).toEqual(
        new Set(['failed-open']),
      );
      const internal = await worker.fetch('/v1/items', {
        headers: { 'X-Service-Token': 'test-service-token' },
      });
      expect(internal.status).toBe(200);
      expect(internal.headers.get('X-Edgelimit-Status')).toBe('bypassed');
      expect(getServices(worker.env).storeHealth.breaker().state).toBe('open');
      expect(lines.some((l) => l.includes('"breaker-change"') && l.includes('"open"'))).toBe(true);

      await control('/redis/start');
      await new Promise((r) => setTimeout(r, 350));
      const healed = await worker.fetch('/v1/items', { headers: customer.headers });
      expect(healed.headers.get('X-Edgelimit-Status')).toBe('allowed');
      expect(getServices(worker.env).storeHealth.breaker().state).toBe('closed');
    } finally {
      setLogSink(previous);
    }
  });

  it('fails closed with a 503 where the customer policy says so', async () => {
    const worker = chaosWorker();
    const customer = await createCustomer(env.CONFIG, { tier: 'pro', failMode: 'closed' });
    await control('/redis/stop');
    const res = await worker.fetch('/v1/items', { headers: customer.headers });
    expect(res.status).toBe(503);
    expect(res.headers.get('X-Edgelimit-Status')).toBe('failed-closed');
    expect(res.headers.get('Retry-After')).toBe('1');
  });

  it('bounds the added latency by the store budget when Redis is slow', async () => {
    const worker = chaosWorker({ STORE_BUDGET_MS: '100' });
    await control('/delay?ms=1500');
    const started = Date.now();
    const res = await worker.fetch('/v1/items', { headers: { 'CF-Connecting-IP': randomIp() } });
    const elapsed = Date.now() - started;
    expect(res.status).toBe(200);
    expect(res.headers.get('X-Edgelimit-Status')).toBe('failed-open');
    expect(elapsed).toBeLessThan(1000);
  });

  it('keeps deciding exactly in hybrid mode while Redis is down, and writes the counts behind later', async () => {
    const worker = testWorker({
      LIMITER_STORE: 'hybrid',
      UPSTASH_REDIS_REST_URL: inject('chaosUpstashUrl'),
      UPSTASH_REDIS_REST_TOKEN: inject('chaosUpstashToken'),
    });
    const customer = await createCustomer(env.CONFIG, {
      tier: 'enterprise',
      limits: [{ limit: 3, window: '1m' }],
    });
    await control('/redis/stop');
    const statuses = [];
    for (let i = 0; i < 4; i++)
      statuses.push((await worker.fetch('/v1/x', { headers: customer.headers })).status);
    expect(statuses).toEqual([200, 200, 200, 429]);

    // The counts written behind while Redis was down arrive once it is back.
    await control('/redis/start');
    const identity = customerIdentity(customer.customerId);
    const stub = env.LIMITER.get(env.LIMITER.idFromName(identity));
    await runDurableObjectAlarm(stub);
    const chaosRedis = new Redis({
      url: inject('chaosUpstashUrl'),
      token: inject('chaosUpstashToken'),
      retry: false,
    });
    const snapshot = decodeWindows(await chaosRedis.get(snapshotKey(identity)));
    const cells = snapshot.get(windowKey(identity, { id: 'minute', limit: 3, windowMs: 60_000 }));
    expect([...(cells ?? new Map()).values()].reduce((a, b) => a + b, 0)).toBe(3);
  });

  it('keeps write-behind batched when Redis is slow (no call per request)', async () => {
    // About ten requests per Redis round trip: a flush per round trip would be 0.1 per request.
    await control('/delay?ms=100');
    const identity = `c:${uniqueId('slow-wb')}`;
    const store = createDurableObjectStore(env.LIMITER, {
      writeBehind: { url: inject('chaosUpstashUrl'), token: inject('chaosUpstashToken') },
    });
    const windows = [{ id: 'minute', limit: 100_000, windowMs: 60_000 }];
    const checks = 250;
    for (let i = 0; i < checks; i++) {
      await store.check({ identity, windows });
      await new Promise((r) => setTimeout(r, 8));
    }
    const stub = env.LIMITER.get(env.LIMITER.idFromName(identity));
    await runDurableObjectAlarm(stub);
    expect((await stub.redisCommands()) / checks).toBeLessThanOrEqual(0.05);
  });
});

describe('when Redis is slow in hybrid mode', () => {
  for (const delayMs of [40, 100, 300]) {
    it(`decides fresh identities for real at +${delayMs} ms per Redis round trip (0 failed-open, the limit holds)`, async () => {
      const worker = testWorker({
        LIMITER_STORE: 'hybrid',
        UPSTASH_REDIS_REST_URL: inject('chaosUpstashUrl'),
        UPSTASH_REDIS_REST_TOKEN: inject('chaosUpstashToken'),
      });
      // The runtime's first Durable Object start (loading the class) is not what is measured.
      const warm = await createCustomer(env.CONFIG, { tier: 'free' });
      await worker.fetch('/v1/x', { headers: warm.headers });
      await control(`/delay?ms=${delayMs}`);
      const customers = await Promise.all(
        Array.from({ length: 8 }, () =>
          createCustomer(env.CONFIG, { tier: 'enterprise', limits: [{ limit: 5, window: '1m' }] }),
        ),
      );
      const statuses = new Map<string, number>();
      const perCustomer = await Promise.all(
        customers.map(async (customer) => {
          const allowed: number[] = [];
          for (let i = 0; i < 8; i++) {
            const res = await worker.fetch('/v1/x', { headers: customer.headers });
            const status = res.headers.get('X-Edgelimit-Status') ?? 'none';
            statuses.set(status, (statuses.get(status) ?? 0) + 1);
            if (res.status === 200) allowed.push(i);
          }
          return allowed.length;
        }),
      );
      expect(Object.fromEntries(statuses)).toEqual({ allowed: 40, rejected: 24 });
      expect(perCustomer).toEqual(customers.map(() => 5));
      expect(getServices(worker.env).storeHealth.breaker().state).toBe('closed');
    });
  }
});

describe('when write-behind fails', () => {
  it('does not set its alarm due at once, again and again, holding only a lease given back unused', async () => {
    const identity = `c:${uniqueId('storm')}`;
    const stub = env.LIMITER.get(env.LIMITER.idFromName(identity));
    const options = {
      writeBehind: { url: inject('chaosUpstashUrl'), token: inject('chaosUpstashToken') },
    };
    const windows = [{ id: 'minute', limit: 100, windowMs: 60_000 }];
    const now = Date.now();
    const lease = await stub.lease({ identity, windows, now }, { units: 5, ttlMs: 2_000 }, options);
    expect(lease.granted).toBe(5);
    // Redis goes down: the save lands, its send fails, a retry is due. Then the lease comes back
    // unused (its cell: 0).
    await control('/redis/stop');
    await runDurableObjectAlarm(stub);
    await stub.lease(
      { identity, windows, now: now + 500 },
      {
        units: 0,
        ttlMs: 2_000,
        refunds: [{ units: lease.granted, at: lease.at, used: 0, ttlMs: 2_000 }],
      },
      options,
    );
    // Redis is back; the retry: nothing counts, nothing is left to send.
    await control('/redis/start');
    await runDurableObjectAlarm(stub);
    const state = await runInDurableObject(stub, async (_o, s) => ({
      alarm: await s.storage.getAlarm(),
      rows: (await s.storage.list()).size,
    }));
    // Before: an alarm set for now after every run (a billed request and a row each), and the
    // row kept, until the empty cell left the window.
    expect(state).toEqual({ alarm: null, rows: 0 });
  });

  it('counts it, shows it in fleet metrics and /health, and alerts', async () => {
    const worker = testWorker({
      LIMITER_STORE: 'hybrid',
      UPSTASH_REDIS_REST_URL: inject('chaosUpstashUrl'),
      UPSTASH_REDIS_REST_TOKEN: inject('chaosUpstashToken'),
    });
    const customer = await createCustomer(env.CONFIG, { tier: 'free' });
    await control('/redis/stop');
    expect((await worker.fetch('/v1/x', { headers: customer.headers })).status).toBe(200);
    const stub = env.LIMITER.get(env.LIMITER.idFromName(customerIdentity(customer.customerId)));
    const failedFrom = Date.now();
    await runDurableObjectAlarm(stub);

    const admin = { Authorization: 'Bearer test-admin-token' };
    const metrics = (await (
      await worker.fetch('/_edgelimit/admin/metrics', { headers: admin })
    ).json()) as {
      writeBehind: { failures: number; lastError: string | null };
    };
    expect(metrics.writeBehind.failures).toBeGreaterThanOrEqual(1);
    expect(metrics.writeBehind.lastError).toBeTruthy();
    const health = (await (await worker.fetch('/_edgelimit/health')).json()) as {
      ok: boolean;
      writeBehind: { failuresLast5m: number };
    };
    expect(health.ok).toBe(false);
    expect(health.writeBehind.failuresLast5m).toBeGreaterThanOrEqual(1);

    // The checks read the minute before the one they run in: run them after every minute the
    // failure may have been counted in (the alarm can run at hh:mm:59.9 and this at hh:mm+1).
    for (let m = Math.floor(failedFrom / 60_000); m <= Math.floor(Date.now() / 60_000); m++) {
      await runScheduledChecks(worker.env, (m + 1) * 60_000);
    }
    const alerts = await usageStub(env.USAGE).recentAlerts(50);
    expect(alerts.some((a) => a.kind === 'write-behind-failing')).toBe(true);
  });
});
