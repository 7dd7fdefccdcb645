import { describe, expect, it } from 'vitest';
import { createAnalyticsEngineUsage } from '../../src/telemetry/analytics-engine-usage';
import { spanOf, UsageSourceError } from '../../src/telemetry/usage-source';

const NOON = Date.UTC(2030, 0, 15, 12, 0, 0);
const ENDPOINT = 'https://api.cloudflare.com/client/v4/accounts/acct123/analytics_engine/sql';

/** The SQL API's JSON output format: meta, data, rows (UInt64 values quoted, as ClickHouse does). */
function sqlJson(meta: [string, string][], data: Record<string, unknown>[]) {
  return new Response(
    JSON.stringify({
      meta: meta.map(([name, type]) => ({ name, type })),
      data,
      rows: data.length,
      rows_before_limit_at_least: data.length,
    }),
    { headers: { 'Content-Type': 'application/json' } },
  );
}

/** A fake fetch that records each SQL body and answers by the query's shape. */
function fakeApi(answer: (sql: string) => Response) {
  const calls: { url: string; auth: string | null; sql: string }[] = [];
  const fetcher = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const sql = String(init?.body ?? '');
    calls.push({ url: String(input), auth: new Headers(init?.headers).get('Authorization'), sql });
    return answer(sql);
  }) as typeof fetch;
  return { calls, fetcher };
}

describe('the Analytics Engine usage source', () => {
  it('sums _sample_interval per bucket and maps rows to the usage shape', async () => {
    const api = fakeApi((sql) => {
      if (sql.includes('GROUP BY t'))
        return sqlJson(
          [
            ['t', 'UInt32'],
            ['allowed', 'UInt64'],
            ['rejected', 'UInt64'],
          ],
          [
            { t: (NOON - 60_000) / 1000, allowed: '40', rejected: '2' },
            { t: NOON / 1000, allowed: '10', rejected: '0' },
          ],
        );
      if (sql.includes('GROUP BY rule'))
        return sqlJson(
          [
            ['rule', 'String'],
            ['allowed', 'UInt64'],
            ['rejected', 'UInt64'],
          ],
          [
            { rule: 'default', allowed: '45', rejected: '2' },
            { rule: 'search', allowed: '5', rejected: '0' },
          ],
        );
      return sqlJson(
        [
          ['time', 'UInt32'],
          ['method', 'String'],
          ['path', 'String'],
          ['win', 'String'],
        ],
        [{ time: NOON / 1000 - 30, method: 'GET', path: '/v1/x', win: 'minute' }],
      );
    });
    const source = createAnalyticsEngineUsage({
      accountId: 'acct123',
      apiToken: 'tok',
      fetch: api.fetcher,
    });
    const usage = await source.customerUsage('acme', spanOf('1h', 'minute', NOON + 5000));

    expect(source.name).toBe('analytics-engine');
    expect(api.calls.every((c) => c.url === ENDPOINT && c.auth === 'Bearer tok')).toBe(true);
    expect(
      api.calls
        .filter((c) => c.sql.includes('GROUP BY'))
        .every((c) => c.sql.includes('sumIf(_sample_interval') && !/count\(/i.test(c.sql)),
    ).toBe(true);
    expect(api.calls[0]?.sql).toContain("index1 = 'acme'");
    expect(api.calls[0]?.sql).toContain('FROM edgelimit_decisions');
    expect(usage.series).toHaveLength(60);
    expect(usage.series[58]).toEqual({ t: NOON - 60_000, allowed: 40, rejected: 2 });
    expect(usage.series[59]).toEqual({ t: NOON, allowed: 10, rejected: 0 });
    expect(usage.totals).toEqual({ allowed: 50, rejected: 2 });
    expect(usage.byRule).toEqual([
      { rule: 'default', allowed: 45, rejected: 2 },
      { rule: 'search', allowed: 5, rejected: 0 },
    ]);
    expect(usage.recentRejections).toEqual([
      { time: NOON - 30_000, method: 'GET', path: '/v1/x', window: 'minute' },
    ]);
  });

  it('reads fleet counters, weighted percentiles and the most limited customers', async () => {
    const counters = {
      checks: '100',
      allowed: '80',
      rejected: '15',
      bypassed: '5',
      failedOpen: '0',
      failedClosed: '0',
      storeErrors: '0',
      p50: 1,
      p99: 12.5,
    };
    const api = fakeApi((sql) => {
      if (sql.includes('GROUP BY t'))
        return sqlJson([['t', 'UInt32']], [{ t: NOON / 1000, ...counters }]);
      if (sql.includes('GROUP BY customerId'))
        return sqlJson(
          [['customerId', 'String']],
          [
            { customerId: 'acme', rejected: '15', allowed: '20' },
            { customerId: 'calm', rejected: '0', allowed: '60' },
          ],
        );
      return sqlJson([['checks', 'UInt64']], [counters]);
    });
    const source = createAnalyticsEngineUsage({
      accountId: 'acct123',
      apiToken: 'tok',
      fetch: api.fetcher,
    });
    const fleet = await source.fleetMetrics(spanOf('1h', 'minute', NOON + 5000));
    expect(
      api.calls.some((c) => c.sql.includes('quantileWeighted(0.99, double2, _sample_interval)')),
    ).toBe(true);
    expect(fleet.series[59]).toMatchObject({
      t: NOON,
      checks: 100,
      rejected: 15,
      latencyP50Ms: 1,
      latencyP99Ms: 12.5,
    });
    expect(fleet.totals).toMatchObject({ checks: 100, bypassed: 5 });
    expect(fleet.topLimited).toEqual([{ customerId: 'acme', rejected: 15, allowed: 20 }]);
  });

  it('turns an API error into a UsageSourceError and quotes customer ids safely', async () => {
    const api = fakeApi(
      () => new Response(JSON.stringify({ errors: [{ message: 'bad token' }] }), { status: 401 }),
    );
    const source = createAnalyticsEngineUsage({
      accountId: 'acct123',
      apiToken: 'tok',
      fetch: api.fetcher,
    });
    await expect(
      source.customerUsage("x' OR 1=1 --", spanOf('1h', 'hour', NOON)),
    ).rejects.toBeInstanceOf(UsageSourceError);
    expect(api.calls[0]?.sql).toContain("index1 = 'x\\' OR 1=1 --'");
  });
});
