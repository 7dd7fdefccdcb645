/** The embedded usage store's reads: customer usage, fleet metrics, minutes, alerts, breaker (plain SQL). */
import type { Alert, AlertKind } from './alerts';
import { derivedBreaker, type MinuteCounters } from './anomaly';
import { type Histogram, mergeInto, quantile } from './latency-histogram';
import type { BreakerStatus } from './telemetry';
import {
  addCounters,
  countersOf,
  MINUTE,
  num,
  parseFields,
  parseHistogram,
  table,
  type UsageSql,
  type WriteBehindFailures,
} from './usage-schema';
import {
  type CustomerUsage,
  type FleetCounters,
  type FleetMetrics,
  fillSeries,
  type Span,
  ZERO_FLEET,
} from './usage-source';

/** One customer's usage over a span. */
export function customerUsage(sql: UsageSql, customerId: string, span: Span): CustomerUsage {
  const { res, width } = table(span);
  const rows = sql
    .exec(
      `SELECT (t / ?) * ? AS b, SUM(allowed) AS allowed, SUM(rejected) AS rejected FROM usage
       WHERE customer = ? AND res = ? AND t >= ? AND t <= ? GROUP BY b`,
      width,
      width,
      customerId,
      res,
      span.from,
      span.to,
    )
    .toArray();
  const byRule = sql
    .exec(
      `SELECT rule, SUM(allowed) AS allowed, SUM(rejected) AS rejected FROM usage
       WHERE customer = ? AND res = ? AND t >= ? AND t <= ? GROUP BY rule ORDER BY rule`,
      customerId,
      res,
      span.from,
      span.to,
    )
    .toArray()
    .map((r) => ({ rule: String(r.rule), allowed: num(r.allowed), rejected: num(r.rejected) }));
  const series = fillSeries(
    span,
    rows.map((r) => ({ t: num(r.b), allowed: num(r.allowed), rejected: num(r.rejected) })),
    { allowed: 0, rejected: 0 },
    (a, b) => ({ allowed: a.allowed + b.allowed, rejected: a.rejected + b.rejected }),
  );
  const totals = series.reduce(
    (s, p) => ({ allowed: s.allowed + p.allowed, rejected: s.rejected + p.rejected }),
    { allowed: 0, rejected: 0 },
  );
  const recentRejections = sql
    .exec(
      `SELECT time, method, path, win FROM rejections WHERE customer = ? AND time >= ? AND time <= ?
       ORDER BY time DESC, id DESC LIMIT 20`,
      customerId,
      span.from,
      span.to,
    )
    .toArray()
    .map((r) => ({
      time: num(r.time),
      method: String(r.method),
      path: String(r.path),
      window: String(r.win),
    }));
  const rejectionGroups = sql
    .exec(
      `SELECT method, path, win, COUNT(*) AS n, MIN(time) AS first, MAX(time) AS last
       FROM rejections WHERE customer = ? AND time >= ? AND time <= ?
       GROUP BY method, path, win ORDER BY MAX(time) DESC LIMIT 10`,
      customerId,
      span.from,
      span.to,
    )
    .toArray()
    .map((r) => ({
      method: String(r.method),
      path: String(r.path),
      window: String(r.win),
      count: num(r.n),
      first: num(r.first),
      last: num(r.last),
    }));
  return { series, byRule, totals, recentRejections, rejectionGroups };
}

/** Fleet counters over a span, percentiles computed from merged latency histograms. */
export function fleetMetrics(sql: UsageSql, span: Span): FleetMetrics {
  const { res, width } = table(span);
  const rows = sql
    .exec(
      'SELECT * FROM fleet WHERE res = ? AND t >= ? AND t <= ? ORDER BY t',
      res,
      span.from,
      span.to,
    )
    .toArray();
  const buckets = new Map<number, { counts: FleetCounters; latency: Histogram }>();
  const all: Histogram = {};
  for (const r of rows) {
    const b = Math.floor(num(r.t) / width) * width;
    const latency = parseHistogram(r.latency);
    mergeInto(all, latency);
    const entry = buckets.get(b) ?? { counts: ZERO_FLEET, latency: {} };
    entry.counts = addCounters(entry.counts, countersOf(r));
    mergeInto(entry.latency, latency);
    buckets.set(b, entry);
  }
  const series = fillSeries(
    span,
    [...buckets].map(([t, e]) => ({
      t,
      ...e.counts,
      latencyP50Ms: quantile(e.latency, 0.5),
      latencyP99Ms: quantile(e.latency, 0.99),
    })),
    ZERO_FLEET,
    addCounters,
  );
  const summed = series.reduce<FleetCounters>((s, p) => addCounters(s, p), ZERO_FLEET);
  const totals = {
    ...summed,
    latencyP50Ms: quantile(all, 0.5),
    latencyP99Ms: quantile(all, 0.99),
  };
  const topLimited = sql
    .exec(
      `SELECT customer, SUM(rejected) AS rejected, SUM(allowed) AS allowed FROM usage
       WHERE res = ? AND t >= ? AND t <= ? GROUP BY customer HAVING SUM(rejected) > 0
       ORDER BY SUM(rejected) DESC, customer LIMIT 10`,
      res,
      span.from,
      span.to,
    )
    .toArray()
    .map((r) => ({
      customerId: String(r.customer),
      rejected: num(r.rejected),
      allowed: num(r.allowed),
    }));
  return { series, totals, topLimited };
}

/** Complete-minute fleet counters from `from` to `to` (inclusive minute starts), zero-filled. */
export function minutes(sql: UsageSql, from: number, to: number): MinuteCounters[] {
  const rows = sql
    .exec('SELECT * FROM fleet WHERE res = ? AND t >= ? AND t <= ?', 'm', from, to)
    .toArray();
  const byT = new Map(rows.map((r) => [num(r.t), countersOf(r)]));
  const out: MinuteCounters[] = [];
  for (let t = Math.floor(from / MINUTE) * MINUTE; t <= to; t += MINUTE) {
    out.push({ t, ...(byT.get(t) ?? ZERO_FLEET) });
  }
  return out;
}

/** Newest alerts first. */
export function recentAlerts(sql: UsageSql, limit = 50): Alert[] {
  return sql
    .exec('SELECT * FROM alerts ORDER BY time DESC, id DESC LIMIT ?', Math.min(500, limit))
    .toArray()
    .map((r) => ({
      time: num(r.time),
      kind: String(r.kind) as AlertKind,
      severity: String(r.severity) as Alert['severity'],
      ...(r.customer !== null ? { customerId: String(r.customer) } : {}),
      message: String(r.message),
      fields: parseFields(r.fields),
    }));
}

/**
 * The breaker state: the latest one the hot path reported, else one derived from the last five
 * minutes of fail-over counts.
 */
export function breaker(sql: UsageSql, now: number): BreakerStatus {
  const reported = sql
    .exec('SELECT state, since FROM breaker ORDER BY updated DESC LIMIT 1')
    .toArray()[0];
  if (reported) {
    const state = String(reported.state);
    if (state === 'open' || state === 'half-open' || state === 'closed') {
      return { state, since: reported.since === null ? null : num(reported.since) };
    }
  }
  const last = Math.floor(now / MINUTE) * MINUTE;
  return derivedBreaker(minutes(sql, last - 4 * MINUTE, last));
}

/** Failed write-behind batches in `[from, to]` (minute starts), and the latest one. */
export function writeBehindFailures(sql: UsageSql, from: number, to: number): WriteBehindFailures {
  const rows = sql
    .exec('SELECT * FROM write_behind WHERE t >= ? AND t <= ? ORDER BY last_at', from, to)
    .toArray();
  const last = rows.at(-1);
  return {
    failures: rows.reduce((sum, r) => sum + num(r.failures), 0),
    lastAt: last ? num(last.last_at) : null,
    lastError: last ? String(last.last_error) : null,
  };
}
