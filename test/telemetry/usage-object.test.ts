import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { UsageObject } from '../../src/objects/usage-object';
import type { AlertCandidate } from '../../src/telemetry/alerts';
import { emptyFleetRow } from '../../src/telemetry/usage-batch';
import { RETENTION } from '../../src/telemetry/usage-schema';
import { spanOf } from '../../src/telemetry/usage-source';
import { batch, isolatedUsage } from './helpers';

const MIN = 60_000;
const HOUR = 3_600_000;
/** A fixed noon, so every bucket of the test is known. */
const NOON = Date.UTC(2030, 0, 15, 12, 0, 0);

function fleetRow(
  t: number,
  counts: Partial<Record<string, number>>,
  latency: Record<string, number> = {},
) {
  return { ...emptyFleetRow(t), latency, ...counts };
}

describe('UsageObject', () => {
  it('keeps failed identifications in their own fleet counter, apart from allowed', async () => {
    const usage = isolatedUsage();
    await usage.record(
      batch({ fleet: [fleetRow(NOON, { checks: 5, allowed: 2, unauthenticated: 3 })] }),
      NOON,
    );
    const m = await usage.fleetMetrics(spanOf('1h', 'minute', NOON + 2 * MIN));
    expect(m.totals).toMatchObject({ checks: 5, allowed: 2, unauthenticated: 3 });
    expect(m.series.find((p) => p.t === NOON)).toMatchObject({ allowed: 2, unauthenticated: 3 });
  });

  it('aggregates a known sequence per minute, hour and day, split allowed/rejected and by rule', async () => {
    const usage = isolatedUsage();
    // 12:00 -> 3 allowed, 1 rejected; 12:01 -> 2 allowed (search); 11:30 -> 5 allowed; other customer noise.
    await usage.record(
      batch({
        usage: [
          { t: NOON, customer: 'acme', rule: 'default', allowed: 3, rejected: 1 },
          { t: NOON + MIN, customer: 'acme', rule: 'search', allowed: 2, rejected: 0 },
          { t: NOON - 30 * MIN, customer: 'acme', rule: 'default', allowed: 5, rejected: 0 },
          { t: NOON, customer: 'other', rule: 'default', allowed: 99, rejected: 99 },
        ],
        rejections: [
          { time: NOON + 1000, customer: 'acme', method: 'GET', path: '/v1/a', window: 'minute' },
          { time: NOON + 2000, customer: 'acme', method: 'POST', path: '/v1/b', window: 'minute' },
          { time: NOON + 3000, customer: 'other', method: 'GET', path: '/v1/x', window: 'minute' },
        ],
      }),
      NOON,
    );
    // A second batch for the same minute adds up.
    await usage.record(
      batch({ usage: [{ t: NOON, customer: 'acme', rule: 'default', allowed: 1, rejected: 0 }] }),
      NOON,
    );

    const now = NOON + 2 * MIN + 5000;
    const minutes = await usage.customerUsage('acme', spanOf('1h', 'minute', now));
    expect(minutes.series).toHaveLength(60);
    expect(minutes.series[59]?.t).toBe(NOON + 2 * MIN);
    const at = (t: number) => minutes.series.find((p) => p.t === t);
    expect(at(NOON)).toMatchObject({ allowed: 4, rejected: 1 });
    expect(at(NOON + MIN)).toMatchObject({ allowed: 2, rejected: 0 });
    expect(at(NOON - 30 * MIN)).toMatchObject({ allowed: 5, rejected: 0 });
    expect(at(NOON - MIN)).toMatchObject({ allowed: 0, rejected: 0 });
    expect(minutes.totals).toEqual({ allowed: 11, rejected: 1 });
    expect(minutes.byRule).toEqual([
      { rule: 'default', allowed: 9, rejected: 1 },
      { rule: 'search', allowed: 2, rejected: 0 },
    ]);
    expect(minutes.recentRejections.map((r) => r.path)).toEqual(['/v1/b', '/v1/a']);

    const hours = await usage.customerUsage('acme', spanOf('24h', 'hour', now));
    expect(hours.series).toHaveLength(24);
    expect(hours.series[23]).toMatchObject({ t: NOON, allowed: 6, rejected: 1 });
    expect(hours.series[22]).toMatchObject({ t: NOON - HOUR, allowed: 5, rejected: 0 });

    const days = await usage.customerUsage('acme', spanOf('30d', 'day', now));
    expect(days.series).toHaveLength(30);
    expect(days.series[29]).toMatchObject({ t: Date.UTC(2030, 0, 15), allowed: 11, rejected: 1 });
    expect(days.totals).toEqual({ allowed: 11, rejected: 1 });
  });

  it('reports fleet counters with percentiles from merged latency histograms, and the top limited customers', async () => {
    const usage = isolatedUsage();
    await usage.record(
      batch({
        fleet: [
          fleetRow(NOON, { checks: 100, allowed: 90, rejected: 10 }, { '1': 98, '40': 2 }),
          fleetRow(
            NOON + MIN,
            { checks: 10, failedOpen: 4, storeErrors: 4, bypassed: 6 },
            { '50': 4 },
          ),
        ],
        usage: [
          { t: NOON, customer: 'a', rule: 'default', allowed: 5, rejected: 7 },
          { t: NOON, customer: 'b', rule: 'default', allowed: 1, rejected: 3 },
          { t: NOON, customer: 'c', rule: 'default', allowed: 9, rejected: 0 },
        ],
      }),
      NOON,
    );
    const m = await usage.fleetMetrics(spanOf('1h', 'minute', NOON + 2 * MIN));
    expect(m.series).toHaveLength(60);
    expect(m.series.find((p) => p.t === NOON)).toMatchObject({
      checks: 100,
      rejected: 10,
      latencyP50Ms: 1,
      latencyP99Ms: 40,
    });
    expect(m.totals).toMatchObject({
      checks: 110,
      allowed: 90,
      rejected: 10,
      bypassed: 6,
      failedOpen: 4,
      storeErrors: 4,
    });
    expect(m.totals.latencyP50Ms).toBe(1);
    expect(m.totals.latencyP99Ms).toBe(50);
    expect(m.topLimited).toEqual([
      { customerId: 'a', rejected: 7, allowed: 5 },
      { customerId: 'b', rejected: 3, allowed: 1 },
    ]);
  });

  it('admits each alert candidate once until it expires', async () => {
    const usage = isolatedUsage();
    const candidate: AlertCandidate = {
      dedupKey: 'exceeded:acme:minute:0',
      expiresAt: NOON + MIN,
      alert: {
        time: NOON,
        kind: 'exceeded',
        severity: 'warning',
        customerId: 'acme',
        message: 'm',
        fields: { window: 'minute' },
      },
    };
    expect(await usage.raise([candidate, candidate], NOON)).toHaveLength(1);
    expect(await usage.record(batch({ alerts: [candidate] }), NOON + 1000)).toHaveLength(0);
    expect(await usage.raise([candidate], NOON + MIN + 1)).toHaveLength(1);
    const recent = await usage.recentAlerts(10);
    expect(recent).toHaveLength(2);
    expect(recent[0]).toMatchObject({
      kind: 'exceeded',
      customerId: 'acme',
      fields: { window: 'minute' },
    });
  });

  it('derives an open breaker from fail-over counts and prefers a reported state', async () => {
    const usage = isolatedUsage();
    expect(await usage.breaker(NOON)).toEqual({ state: 'closed', since: null });
    await usage.record(
      batch({ fleet: [fleetRow(NOON - MIN, { checks: 20, failedOpen: 20, storeErrors: 20 })] }),
      NOON,
    );
    expect(await usage.breaker(NOON)).toEqual({ state: 'open', since: NOON - MIN });
    await usage.reportBreaker({ store: 'redis', state: 'half-open', at: NOON });
    expect(await usage.breaker(NOON)).toEqual({ state: 'half-open', since: NOON });
  });

  it('deletes rows past retention on its alarm', async () => {
    const usage = isolatedUsage();
    const now = Date.now();
    const old = Math.floor((now - RETENTION.minute - HOUR) / MIN) * MIN;
    await usage.record(
      batch({
        usage: [{ t: old, customer: 'acme', rule: 'default', allowed: 1, rejected: 0 }],
        rejections: [{ time: old, customer: 'acme', method: 'GET', path: '/', window: 'minute' }],
      }),
      now,
    );
    const count = (sql: string) =>
      runInDurableObject(usage, (o: UsageObject, state) => {
        void o;
        return state.storage.sql.exec(sql).toArray().length;
      });
    expect(await count("SELECT * FROM usage WHERE res = 'm'")).toBe(1);
    expect(await runDurableObjectAlarm(usage)).toBe(true);
    expect(await count("SELECT * FROM usage WHERE res = 'm'")).toBe(0);
    // The hour row is younger than 35 days: it stays.
    expect(await count("SELECT * FROM usage WHERE res = 'h'")).toBe(1);
    expect(await count('SELECT * FROM rejections')).toBe(0);
  });
});
