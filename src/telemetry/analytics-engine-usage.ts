/**
 * Usage read from Workers Analytics Engine through its SQL API (production). Counts sum
 * `_sample_interval` rather than counting rows, so sampled data is weighted back to the truth.
 * Column positions come from data-point.ts (documented in docs/metrics.md).
 */
import { z } from 'zod';
import { BLOB, DOUBLE } from './data-point';
import {
  type CustomerUsage,
  type FleetCounters,
  type FleetMetrics,
  fillSeries,
  type Span,
  type UsageSource,
  UsageSourceError,
  ZERO_FLEET,
} from './usage-source';

/** Options of {@link createAnalyticsEngineUsage}. */
export interface AnalyticsEngineOptions {
  readonly accountId: string;
  readonly apiToken: string;
  /** Dataset (table) name from wrangler.toml; default `edgelimit_decisions`. */
  readonly dataset?: string;
  readonly fetch?: typeof fetch;
  /** Time budget per query; default 10 s. */
  readonly timeoutMs?: number;
}

/** The SQL API's JSON format: `meta`, `data`, `rows` (64-bit integers may arrive as strings). */
const sqlResponseSchema = z.object({
  meta: z.array(z.object({ name: z.string(), type: z.string() })).optional(),
  data: z.array(z.record(z.string(), z.unknown())),
  rows: z.number().optional(),
});

const b = (key: keyof typeof BLOB) => `blob${BLOB[key]}`;
const d = (key: keyof typeof DOUBLE) => `double${DOUBLE[key]}`;
const INTERVAL_SQL = {
  minute: "INTERVAL '1' MINUTE",
  hour: "INTERVAL '1' HOUR",
  day: "INTERVAL '1' DAY",
} as const;

/**
 * Creates the Analytics Engine usage source.
 * @example createAnalyticsEngineUsage({ accountId: env.CF_ACCOUNT_ID, apiToken: env.CF_API_TOKEN })
 */
export function createAnalyticsEngineUsage(options: AnalyticsEngineOptions): UsageSource {
  const dataset = options.dataset ?? 'edgelimit_decisions';
  if (!/^[A-Za-z0-9_]+$/.test(dataset)) throw new Error(`dataset: invalid name "${dataset}"`);
  const doFetch = options.fetch ?? fetch;
  const endpoint = `https://api.cloudflare.com/client/v4/accounts/${encodeURIComponent(options.accountId)}/analytics_engine/sql`;

  async function query(sql: string): Promise<Record<string, unknown>[]> {
    let response: Response;
    try {
      response = await doFetch(endpoint, {
        method: 'POST',
        headers: { Authorization: `Bearer ${options.apiToken}`, 'Content-Type': 'text/plain' },
        body: sql,
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
    } catch (error) {
      throw new UsageSourceError(`Analytics Engine SQL API unreachable: ${String(error)}`);
    }
    const text = await response.text();
    if (!response.ok) {
      throw new UsageSourceError(
        `Analytics Engine SQL API answered ${response.status}: ${text.slice(0, 200)}`,
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new UsageSourceError('Analytics Engine SQL API answered with non-JSON');
    }
    const result = sqlResponseSchema.safeParse(parsed);
    if (!result.success)
      throw new UsageSourceError('Analytics Engine SQL API answered an unknown shape');
    return result.data.data;
  }

  const range = (span: Span) =>
    `timestamp >= toDateTime(${Math.floor(span.from / 1000)}) AND timestamp <= toDateTime(${Math.ceil(span.to / 1000)})`;
  const bucket = (span: Span) =>
    `toUnixTimestamp(toStartOfInterval(timestamp, ${INTERVAL_SQL[span.resolution]}))`;
  const refused = `${b('outcome')} IN ('rejected', 'failed-closed')`;
  const passed = `${b('outcome')} IN ('allowed', 'failed-open')`;

  return {
    name: 'analytics-engine',

    async customerUsage(customerId: string, span: Span): Promise<CustomerUsage> {
      const who = `index1 = ${quote(customerId)} AND ${b('callerKind')} = 'customer' AND ${range(span)}`;
      const [seriesRows, ruleRows, rejectionRows, groupRows] = await Promise.all([
        query(
          `SELECT ${bucket(span)} AS t, sumIf(_sample_interval, ${passed}) AS allowed, sumIf(_sample_interval, ${refused}) AS rejected FROM ${dataset} WHERE ${who} GROUP BY t ORDER BY t FORMAT JSON`,
        ),
        query(
          `SELECT ${b('rule')} AS rule, sumIf(_sample_interval, ${passed}) AS allowed, sumIf(_sample_interval, ${refused}) AS rejected FROM ${dataset} WHERE ${who} GROUP BY rule ORDER BY rule FORMAT JSON`,
        ),
        query(
          `SELECT toUnixTimestamp(timestamp) AS time, ${b('method')} AS method, ${b('path')} AS path, ${b('window')} AS win FROM ${dataset} WHERE ${who} AND ${b('outcome')} = 'rejected' ORDER BY timestamp DESC LIMIT 20 FORMAT JSON`,
        ),
        query(
          `SELECT ${b('method')} AS method, ${b('path')} AS path, ${b('window')} AS win, sumIf(_sample_interval, ${b('outcome')} = 'rejected') AS n, toUnixTimestamp(min(timestamp)) AS first, toUnixTimestamp(max(timestamp)) AS last FROM ${dataset} WHERE ${who} AND ${b('outcome')} = 'rejected' GROUP BY method, path, win ORDER BY last DESC LIMIT 10 FORMAT JSON`,
        ),
      ]);
      const series = fillSeries(
        span,
        seriesRows.map((r) => ({
          t: seconds(r.t),
          allowed: count(r.allowed),
          rejected: count(r.rejected),
        })),
        { allowed: 0, rejected: 0 },
        (x, y) => ({ allowed: x.allowed + y.allowed, rejected: x.rejected + y.rejected }),
      );
      return {
        series,
        byRule: ruleRows.map((r) => ({
          rule: String(r.rule ?? 'default'),
          allowed: count(r.allowed),
          rejected: count(r.rejected),
        })),
        totals: series.reduce(
          (s, p) => ({ allowed: s.allowed + p.allowed, rejected: s.rejected + p.rejected }),
          { allowed: 0, rejected: 0 },
        ),
        rejectionGroups: groupRows.map((r) => ({
          method: String(r.method ?? ''),
          path: String(r.path ?? ''),
          window: String(r.win ?? ''),
          count: count(r.n),
          first: seconds(r.first),
          last: seconds(r.last),
        })),
        recentRejections: rejectionRows.map((r) => ({
          time: seconds(r.time),
          method: String(r.method ?? ''),
          path: String(r.path ?? ''),
          window: String(r.win ?? ''),
        })),
      };
    },

    async fleetMetrics(span: Span): Promise<FleetMetrics> {
      const counters = [
        'SUM(_sample_interval) AS checks',
        `sumIf(_sample_interval, ${b('outcome')} = 'allowed') AS allowed`,
        `sumIf(_sample_interval, ${b('outcome')} = 'rejected') AS rejected`,
        `sumIf(_sample_interval, ${b('outcome')} = 'bypassed') AS bypassed`,
        `sumIf(_sample_interval, ${b('outcome')} = 'unauthenticated') AS unauthenticated`,
        `sumIf(_sample_interval, ${b('outcome')} = 'failed-open') AS failedOpen`,
        `sumIf(_sample_interval, ${b('outcome')} = 'failed-closed') AS failedClosed`,
        `sumIf(_sample_interval, ${d('storeError')} = 1) AS storeErrors`,
        `quantileWeighted(0.5, ${d('storeLatencyMs')}, _sample_interval) AS p50`,
        `quantileWeighted(0.99, ${d('storeLatencyMs')}, _sample_interval) AS p99`,
      ].join(', ');
      const [seriesRows, totalRows, topRows] = await Promise.all([
        query(
          `SELECT ${bucket(span)} AS t, ${counters} FROM ${dataset} WHERE ${range(span)} GROUP BY t ORDER BY t FORMAT JSON`,
        ),
        query(`SELECT ${counters} FROM ${dataset} WHERE ${range(span)} FORMAT JSON`),
        query(
          `SELECT index1 AS customerId, sumIf(_sample_interval, ${refused}) AS rejected, sumIf(_sample_interval, ${passed}) AS allowed FROM ${dataset} WHERE ${range(span)} AND ${b('callerKind')} = 'customer' GROUP BY customerId ORDER BY rejected DESC LIMIT 10 FORMAT JSON`,
        ),
      ]);
      const series = fillSeries(
        span,
        seriesRows.map((r) => ({ t: seconds(r.t), ...fleetCounters(r) })),
        ZERO_FLEET,
        (x) => x,
      );
      return {
        series,
        totals: totalRows[0] ? fleetCounters(totalRows[0]) : ZERO_FLEET,
        topLimited: topRows
          .map((r) => ({
            customerId: String(r.customerId ?? ''),
            rejected: count(r.rejected),
            allowed: count(r.allowed),
          }))
          .filter((r) => r.rejected > 0),
      };
    },
  };
}

/** A SQL string literal; customer ids are validated upstream, this is the second fence. */
function quote(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** Weighted counts are integers in truth; sampling can make sums fractional in theory. */
function count(v: unknown): number {
  const n = Number(v ?? 0);
  return Number.isFinite(n) ? Math.round(n) : 0;
}

/** Epoch ms from Unix seconds (number or string) or a `YYYY-MM-DD HH:MM:SS` UTC DateTime. */
function seconds(v: unknown): number {
  const n = Number(v);
  if (Number.isFinite(n)) return n * 1000;
  const parsed = Date.parse(`${String(v).replace(' ', 'T')}Z`);
  return Number.isFinite(parsed) ? parsed : 0;
}

function latency(v: unknown): number {
  const n = Number(v ?? 0);
  return Number.isFinite(n) ? Math.round(n * 100) / 100 : 0;
}

function fleetCounters(r: Record<string, unknown>): FleetCounters {
  return {
    checks: count(r.checks),
    allowed: count(r.allowed),
    rejected: count(r.rejected),
    bypassed: count(r.bypassed),
    unauthenticated: count(r.unauthenticated),
    failedOpen: count(r.failedOpen),
    failedClosed: count(r.failedClosed),
    storeErrors: count(r.storeErrors),
    latencyP50Ms: latency(r.p50),
    latencyP99Ms: latency(r.p99),
  };
}
