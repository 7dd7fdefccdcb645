/** The usage object's SQL on node:sqlite: the same reads and writes, no Workers runtime. */
import { describe, expect, it } from 'vitest';
import type { AlertCandidate } from '../../src/telemetry/alerts';
import { emptyFleetRow, type UsageBatch } from '../../src/telemetry/usage-batch';
import {
  breaker,
  customerLoad,
  customerUsage,
  fleetMetrics,
  nearConcurrency,
} from '../../src/telemetry/usage-reads';
import { RETENTION, SCHEMA } from '../../src/telemetry/usage-schema';
import { spanOf } from '../../src/telemetry/usage-source';
import { admit, deleteExpired, recordBatch, reportBreaker } from '../../src/telemetry/usage-writes';
import { nodeSql } from '../support/node-sqlite';

const MIN = 60_000;
const NOON = Date.UTC(2030, 0, 15, 12, 0, 0);

function batch(part: Partial<UsageBatch>): UsageBatch {
  return { usage: [], fleet: [], rejections: [], alerts: [], ...part };
}

function freshSql() {
  const sql = nodeSql();
  sql.exec(SCHEMA);
  return sql;
}

describe('usage SQL', () => {
  it('adds batches per minute and reads them back as a customer series', () => {
    const sql = freshSql();
    recordBatch(
      sql,
      batch({
        usage: [{ t: NOON, customer: 'acme', rule: 'default', allowed: 3, rejected: 1 }],
        fleet: [
          { ...emptyFleetRow(NOON), checks: 4, allowed: 3, rejected: 1, latency: { '1': 4 } },
        ],
        rejections: [
          { time: NOON + 1, customer: 'acme', method: 'GET', path: '/a', window: 'minute' },
        ],
      }),
      NOON,
    );
    recordBatch(
      sql,
      batch({ usage: [{ t: NOON, customer: 'acme', rule: 'default', allowed: 1, rejected: 0 }] }),
      NOON,
    );
    const usage = customerUsage(sql, 'acme', spanOf('1h', 'minute', NOON + MIN));
    expect(usage.totals).toEqual({ allowed: 4, rejected: 1 });
    expect(usage.recentRejections).toEqual([
      { time: NOON + 1, method: 'GET', path: '/a', window: 'minute' },
    ]);
    expect(fleetMetrics(sql, spanOf('1h', 'minute', NOON + MIN)).totals.checks).toBe(4);
  });

  it('admits an alert once per dedup key until it expires', () => {
    const sql = freshSql();
    const candidate: AlertCandidate = {
      dedupKey: 'k',
      expiresAt: NOON + MIN,
      alert: { time: NOON, kind: 'exceeded', severity: 'warning', message: 'm', fields: {} },
    };
    expect(admit(sql, [candidate], NOON)).toHaveLength(1);
    expect(admit(sql, [candidate], NOON + 1)).toHaveLength(0);
    expect(admit(sql, [candidate], NOON + 2 * MIN)).toHaveLength(1);
  });

  it('keeps the breaker the hot path reported and deletes rows past retention', () => {
    const sql = freshSql();
    reportBreaker(sql, { store: 'redis', state: 'open', at: NOON });
    expect(breaker(sql, NOON + 1)).toEqual({ state: 'open', since: NOON });
    recordBatch(
      sql,
      batch({ usage: [{ t: NOON, customer: 'acme', rule: 'default', allowed: 1, rejected: 0 }] }),
      NOON,
    );
    deleteExpired(sql, NOON + RETENTION.hour + 2 * 3_600_000);
    expect(sql.exec('SELECT COUNT(*) AS n FROM usage').toArray()[0]?.n).toBe(0);
  });

  it('keeps units, origin charges and peak in flight, and ranks customers by their concurrency share', () => {
    const sql = freshSql();
    const load = (
      customer: string,
      extra: number,
      charged: number,
      peak: number,
      limit: number,
    ) => ({
      t: NOON,
      customer,
      extra,
      charged,
      peak,
      limit,
    });
    recordBatch(
      sql,
      batch({ load: [load('acme', 8, 700, 2, 3), load('beta', 0, 0, 9, 10)] }),
      NOON,
    );
    recordBatch(sql, batch({ load: [load('acme', 4, 700, 3, 3)] }), NOON);
    const span = spanOf('1h', 'minute', NOON + MIN);
    // acme made 3 allowed requests costing 5 each (12 extra units) and was charged 1,400.
    expect(customerLoad(sql, 'acme', span, 3)).toEqual({
      units: 15,
      charged: 1400,
      peakInFlight: 3,
    });
    expect(nearConcurrency(sql, span)).toEqual([
      { customerId: 'acme', peak: 3, limit: 3 },
      { customerId: 'beta', peak: 9, limit: 10 },
    ]);
    deleteExpired(sql, NOON + RETENTION.hour + 2 * 3_600_000);
    expect(sql.exec('SELECT COUNT(*) AS n FROM load').toArray()[0]?.n).toBe(0);
  });
});
