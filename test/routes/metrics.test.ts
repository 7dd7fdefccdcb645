import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { metricsSchema } from '../../src/http/usage-api';
import { untilPeriodHasLeft } from '../support/clock-edge';
import { createCustomer } from '../support/customers';
import { appWith } from '../telemetry/helpers';

const admin = { Authorization: 'Bearer test-admin-token' };

describe('GET /_edgelimit/admin/metrics', () => {
  it('counts failed identifications as unauthenticated, never as allowed', async () => {
    const worker = appWith({ LIMITER_STORE: 'memory' });
    const read = async () => {
      const res = await worker.fetch('/_edgelimit/admin/metrics?range=1h&resolution=minute', {
        headers: admin,
      });
      return metricsSchema.parse(await res.json());
    };
    const before = await read();
    for (let i = 0; i < 3; i++) {
      const res = await worker.fetch('/v1/items', { headers: { 'X-API-Key': `bogus-key-${i}` } });
      expect(res.status).toBe(401);
    }
    const after = await read();
    expect(after.totals.checks - before.totals.checks).toBe(3);
    expect(after.totals.unauthenticated - (before.totals.unauthenticated ?? 0)).toBe(3);
    expect(after.totals.allowed - before.totals.allowed).toBe(0);
    expect(after.totals.rejected - before.totals.rejected).toBe(0);
    expect(after.series.reduce((n, p) => n + p.unauthenticated, 0)).toBe(
      after.totals.unauthenticated,
    );
  });

  it('reports fleet counters, the most limited customers and the customer alerts raised', async () => {
    const worker = appWith({ LIMITER_STORE: 'memory' });
    const read = async () => {
      const res = await worker.fetch('/_edgelimit/admin/metrics?range=1h&resolution=minute', {
        headers: admin,
      });
      expect(res.status).toBe(200);
      return metricsSchema.parse(await res.json());
    };
    // One approaching and one exceeded alert per hour-aligned window: not across an hour's edge.
    await untilPeriodHasLeft(3_600_000, 5_000);
    const before = await read();
    const customer = await createCustomer(env.CONFIG, {
      tier: 'enterprise',
      limits: [{ limit: 2, window: '1h' }],
    });
    for (let i = 0; i < 5; i++) await worker.fetch('/v1/items', { headers: customer.headers });
    await worker.fetch('/v1/items', { headers: { 'X-Service-Token': 'test-service-token' } });
    const after = await read();

    expect(after.range).toBe('1h');
    expect(after.resolution).toBe('minute');
    expect(after.series).toHaveLength(60);
    expect(after.totals.checks - before.totals.checks).toBeGreaterThanOrEqual(6);
    expect(after.totals.rejected - before.totals.rejected).toBeGreaterThanOrEqual(3);
    expect(after.totals.bypassed - before.totals.bypassed).toBeGreaterThanOrEqual(1);
    expect(after.series.reduce((n, p) => n + p.checks, 0)).toBe(after.totals.checks);
    expect(after.topLimited).toContainEqual({
      customerId: customer.customerId,
      rejected: 3,
      allowed: 2,
    });
    expect(['closed', 'open', 'half-open']).toContain(after.breaker.state);
    const mine = after.recentAlerts.filter((a) => a.customerId === customer.customerId);
    expect(mine.map((a) => a.kind).sort()).toEqual(['approaching', 'exceeded']);
  });

  it('requires the admin token, covers 30 days at hour or day resolution, refuses finer', async () => {
    const worker = appWith({ LIMITER_STORE: 'memory' });
    expect((await worker.fetch('/_edgelimit/admin/metrics')).status).toBe(401);
    expect(
      (
        await worker.fetch('/_edgelimit/admin/metrics', {
          headers: { Authorization: 'Bearer nope' },
        })
      ).status,
    ).toBe(401);
    const month = await worker.fetch('/_edgelimit/admin/metrics?range=30d', { headers: admin });
    expect(month.status).toBe(200);
    const body = metricsSchema.parse(await month.json());
    expect([body.range, body.resolution, body.series.length]).toEqual(['30d', 'day', 30]);
    const tooLong = await worker.fetch('/_edgelimit/admin/metrics?range=90d', { headers: admin });
    expect(tooLong.status).toBe(400);
    expect(((await tooLong.json()) as { errors: { field: string }[] }).errors[0]?.field).toBe(
      'range',
    );
    const tooFine = await worker.fetch('/_edgelimit/admin/metrics?range=7d&resolution=minute', {
      headers: admin,
    });
    expect(tooFine.status).toBe(400);
  });
});
