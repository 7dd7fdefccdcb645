/**
 * The embedded usage store: one Durable Object with SQLite storage (instance "fleet") holding
 * per-customer and fleet counters by minute and hour, recent rejections, recent alerts, alert
 * dedup state shared by every isolate, and the last reported breaker state. Retention runs on its
 * alarm: minute rows 48 h, hour rows 35 d, rejections 48 h, alerts 30 d.
 */
import { DurableObject } from 'cloudflare:workers';
import type { Alert, AlertCandidate, AlertKind } from './alerts';
import { type BreakerState, derivedBreaker, type MinuteCounters } from './anomaly';
import { type Histogram, mergeInto, quantile } from './latency-histogram';
import type { UsageBatch } from './usage-batch';
import {
  type CustomerUsage,
  type FleetCounters,
  type FleetMetrics,
  fillSeries,
  RESOLUTIONS,
  type Span,
  ZERO_FLEET,
} from './usage-source';

/** Name of the one instance every isolate writes to. */
export const USAGE_INSTANCE = 'fleet';

const MINUTE = 60_000;
const HOUR = 3_600_000;
/** Retention, ms. */
export const RETENTION = {
  minute: 48 * HOUR,
  hour: 35 * 24 * HOUR,
  rejections: 48 * HOUR,
  alerts: 30 * 24 * HOUR,
} as const;
const MAX_REJECTION_ROWS = 50_000;
const MAX_ALERT_ROWS = 5_000;
const CLEANUP_EVERY_MS = 10 * MINUTE;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS usage (
  res TEXT NOT NULL, t INTEGER NOT NULL, customer TEXT NOT NULL, rule TEXT NOT NULL,
  allowed INTEGER NOT NULL, rejected INTEGER NOT NULL,
  PRIMARY KEY (res, t, customer, rule)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS usage_by_customer ON usage (customer, res, t);
CREATE TABLE IF NOT EXISTS fleet (
  res TEXT NOT NULL, t INTEGER NOT NULL,
  checks INTEGER NOT NULL, allowed INTEGER NOT NULL, rejected INTEGER NOT NULL,
  bypassed INTEGER NOT NULL, failed_open INTEGER NOT NULL, failed_closed INTEGER NOT NULL,
  store_errors INTEGER NOT NULL, latency TEXT NOT NULL,
  unauthenticated INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (res, t)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rejections (
  id INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL, customer TEXT NOT NULL,
  method TEXT NOT NULL, path TEXT NOT NULL, win TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS rejections_by_customer ON rejections (customer, time);
CREATE TABLE IF NOT EXISTS alert_dedup (key TEXT PRIMARY KEY, expires INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS alerts (
  id INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL, kind TEXT NOT NULL,
  severity TEXT NOT NULL, customer TEXT, message TEXT NOT NULL, fields TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_by_time ON alerts (time);
CREATE TABLE IF NOT EXISTS write_behind (
  t INTEGER PRIMARY KEY, failures INTEGER NOT NULL, last_at INTEGER NOT NULL, last_error TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS breaker (
  store TEXT PRIMARY KEY, state TEXT NOT NULL, since INTEGER, updated INTEGER NOT NULL
);
`;

/** Failed write-behind batches over a span. */
export interface WriteBehindFailures {
  readonly failures: number;
  readonly lastAt: number | null;
  readonly lastError: string | null;
}

/** A breaker transition reported by the hot path. */
export interface BreakerReport {
  readonly store: string;
  readonly state: BreakerState['state'];
  readonly at: number;
}

type Row = Record<string, SqlStorageValue>;

export class UsageObject extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(SCHEMA);
    // Objects created before the column existed keep their rows and gain it at zero.
    const columns = this.sql.exec("SELECT name FROM pragma_table_info('fleet')").toArray();
    if (!columns.some((c) => c.name === 'unauthenticated')) {
      this.sql.exec('ALTER TABLE fleet ADD COLUMN unauthenticated INTEGER NOT NULL DEFAULT 0');
    }
  }

  /**
   * Adds a batch of counters and raises its alert candidates. Returns the alerts admitted now:
   * candidates whose dedup key was not seen before (so each fires once across all isolates).
   */
  async record(batch: UsageBatch, now: number = Date.now()): Promise<Alert[]> {
    const admitted: Alert[] = [];
    this.ctx.storage.transactionSync(() => {
      for (const r of batch.usage) {
        for (const [res, width] of [
          ['m', MINUTE],
          ['h', HOUR],
        ] as const) {
          this.sql.exec(
            `INSERT INTO usage (res, t, customer, rule, allowed, rejected) VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (res, t, customer, rule) DO UPDATE SET
               allowed = allowed + excluded.allowed, rejected = rejected + excluded.rejected`,
            res,
            Math.floor(r.t / width) * width,
            r.customer,
            r.rule,
            r.allowed,
            r.rejected,
          );
        }
      }
      for (const f of batch.fleet) {
        for (const [res, width] of [
          ['m', MINUTE],
          ['h', HOUR],
        ] as const) {
          const t = Math.floor(f.t / width) * width;
          const existing = this.sql
            .exec('SELECT latency FROM fleet WHERE res = ? AND t = ?', res, t)
            .toArray()[0];
          const latency = mergeInto(existing ? parseHistogram(existing.latency) : {}, f.latency);
          this.sql.exec(
            `INSERT INTO fleet (res, t, checks, allowed, rejected, bypassed, failed_open,
               failed_closed, store_errors, latency, unauthenticated)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (res, t) DO UPDATE SET
               checks = checks + excluded.checks, allowed = allowed + excluded.allowed,
               rejected = rejected + excluded.rejected, bypassed = bypassed + excluded.bypassed,
               unauthenticated = unauthenticated + excluded.unauthenticated,
               failed_open = failed_open + excluded.failed_open,
               failed_closed = failed_closed + excluded.failed_closed,
               store_errors = store_errors + excluded.store_errors, latency = excluded.latency`,
            res,
            t,
            f.checks,
            f.allowed,
            f.rejected,
            f.bypassed,
            f.failedOpen,
            f.failedClosed,
            f.storeErrors,
            JSON.stringify(latency),
            // A batch from an isolate still running the previous version has no such field.
            f.unauthenticated ?? 0,
          );
        }
      }
      for (const r of batch.rejections) {
        this.sql.exec(
          'INSERT INTO rejections (time, customer, method, path, win) VALUES (?, ?, ?, ?, ?)',
          r.time,
          r.customer,
          r.method,
          r.path,
          r.window,
        );
      }
      admitted.push(...this.admit(batch.alerts, now));
    });
    await this.scheduleCleanup(now);
    return admitted;
  }

  /** Raises alert candidates (scheduled checks, config errors); returns the ones admitted now. */
  async raise(candidates: readonly AlertCandidate[], now: number = Date.now()): Promise<Alert[]> {
    const admitted = this.ctx.storage.transactionSync(() => this.admit(candidates, now));
    await this.scheduleCleanup(now);
    return admitted;
  }

  /** One customer's usage over a span. */
  async customerUsage(customerId: string, span: Span): Promise<CustomerUsage> {
    const { res, width } = table(span);
    const rows = this.sql
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
    const byRule = this.sql
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
    const recentRejections = this.sql
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
    const rejectionGroups = this.sql
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
  async fleetMetrics(span: Span): Promise<FleetMetrics> {
    const { res, width } = table(span);
    const rows = this.sql
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
    const topLimited = this.sql
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
  async minutes(from: number, to: number): Promise<MinuteCounters[]> {
    const rows = this.sql
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
  /**
   * Counts one failed write-behind batch (a Limiter object could not reach Redis), per minute:
   * Redis then lags the objects, which keep deciding, so it is counted here, shown in the fleet
   * metrics and alerted on by the scheduled check, never silent.
   */
  async reportWriteBehindFailure(at: number, message: string): Promise<void> {
    const t = Math.floor(at / MINUTE) * MINUTE;
    this.sql.exec(
      `INSERT INTO write_behind (t, failures, last_at, last_error) VALUES (?, 1, ?, ?)
       ON CONFLICT (t) DO UPDATE SET failures = failures + 1, last_at = excluded.last_at,
       last_error = excluded.last_error`,
      t,
      at,
      message.slice(0, 300),
    );
    this.sql.exec('DELETE FROM write_behind WHERE t < ?', t - 30 * 24 * 60 * MINUTE);
  }

  /** Failed write-behind batches in `[from, to]` (minute starts), and the latest one. */
  async writeBehindFailures(from: number, to: number): Promise<WriteBehindFailures> {
    const rows = this.sql
      .exec('SELECT * FROM write_behind WHERE t >= ? AND t <= ? ORDER BY last_at', from, to)
      .toArray();
    const last = rows.at(-1);
    return {
      failures: rows.reduce((sum, r) => sum + num(r.failures), 0),
      lastAt: last ? num(last.last_at) : null,
      lastError: last ? String(last.last_error) : null,
    };
  }

  async recentAlerts(limit = 50): Promise<Alert[]> {
    return this.sql
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

  /** Records a breaker transition reported by the hot path. */
  async reportBreaker(report: BreakerReport): Promise<void> {
    const current = this.sql
      .exec('SELECT state FROM breaker WHERE store = ?', report.store)
      .toArray()[0];
    if (current && current.state === report.state) return;
    this.sql.exec(
      `INSERT INTO breaker (store, state, since, updated) VALUES (?, ?, ?, ?)
       ON CONFLICT (store) DO UPDATE SET state = excluded.state, since = excluded.since,
         updated = excluded.updated`,
      report.store,
      report.state,
      report.state === 'closed' ? null : report.at,
      report.at,
    );
  }

  /**
   * The breaker state: the latest one the hot path reported, else one derived from the last five
   * minutes of fail-over counts.
   */
  async breaker(now: number = Date.now()): Promise<BreakerState> {
    const reported = this.sql
      .exec('SELECT state, since FROM breaker ORDER BY updated DESC LIMIT 1')
      .toArray()[0];
    if (reported) {
      const state = String(reported.state);
      if (state === 'open' || state === 'half-open' || state === 'closed') {
        return { state, since: reported.since === null ? null : num(reported.since) };
      }
    }
    const last = Math.floor(now / MINUTE) * MINUTE;
    return derivedBreaker(await this.minutes(last - 4 * MINUTE, last));
  }

  /** Deletes what is past retention; reschedules itself while data remains. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    this.sql.exec('DELETE FROM usage WHERE res = ? AND t < ?', 'm', now - RETENTION.minute);
    this.sql.exec('DELETE FROM usage WHERE res = ? AND t < ?', 'h', now - RETENTION.hour);
    this.sql.exec('DELETE FROM fleet WHERE res = ? AND t < ?', 'm', now - RETENTION.minute);
    this.sql.exec('DELETE FROM fleet WHERE res = ? AND t < ?', 'h', now - RETENTION.hour);
    this.sql.exec('DELETE FROM rejections WHERE time < ?', now - RETENTION.rejections);
    this.sql.exec(
      'DELETE FROM rejections WHERE id <= (SELECT MAX(id) FROM rejections) - ?',
      MAX_REJECTION_ROWS,
    );
    this.sql.exec('DELETE FROM alerts WHERE time < ?', now - RETENTION.alerts);
    this.sql.exec(
      'DELETE FROM alerts WHERE id <= (SELECT MAX(id) FROM alerts) - ?',
      MAX_ALERT_ROWS,
    );
    this.sql.exec('DELETE FROM alert_dedup WHERE expires < ?', now);
    await this.ctx.storage.setAlarm(now + CLEANUP_EVERY_MS);
  }

  private admit(candidates: readonly AlertCandidate[], now: number): Alert[] {
    const admitted: Alert[] = [];
    for (const c of candidates) {
      const fresh = this.sql.exec(
        `INSERT INTO alert_dedup (key, expires) VALUES (?, ?)
         ON CONFLICT (key) DO UPDATE SET expires = excluded.expires WHERE alert_dedup.expires < ?`,
        c.dedupKey,
        c.expiresAt,
        now,
      ).rowsWritten;
      if (fresh === 0) continue;
      const a = c.alert;
      this.sql.exec(
        'INSERT INTO alerts (time, kind, severity, customer, message, fields) VALUES (?, ?, ?, ?, ?, ?)',
        a.time,
        a.kind,
        a.severity,
        a.customerId ?? null,
        a.message,
        JSON.stringify(a.fields),
      );
      admitted.push(a);
    }
    return admitted;
  }

  private async scheduleCleanup(now: number): Promise<void> {
    if ((await this.ctx.storage.getAlarm()) === null) {
      await this.ctx.storage.setAlarm(now + CLEANUP_EVERY_MS);
    }
  }
}

function table(span: Span): { res: 'm' | 'h'; width: number } {
  return { res: span.resolution === 'minute' ? 'm' : 'h', width: RESOLUTIONS[span.resolution] };
}

function num(v: SqlStorageValue | undefined): number {
  return typeof v === 'number' ? v : Number(v ?? 0);
}

function countersOf(r: Row): FleetCounters {
  return {
    checks: num(r.checks),
    allowed: num(r.allowed),
    rejected: num(r.rejected),
    bypassed: num(r.bypassed),
    unauthenticated: num(r.unauthenticated),
    failedOpen: num(r.failed_open),
    failedClosed: num(r.failed_closed),
    storeErrors: num(r.store_errors),
    latencyP50Ms: 0,
    latencyP99Ms: 0,
  };
}

/** Sums counts; percentiles are kept from `a` (they do not add; callers compute them). */
function addCounters(a: FleetCounters, b: FleetCounters): FleetCounters {
  return {
    checks: a.checks + b.checks,
    allowed: a.allowed + b.allowed,
    rejected: a.rejected + b.rejected,
    bypassed: a.bypassed + b.bypassed,
    unauthenticated: a.unauthenticated + b.unauthenticated,
    failedOpen: a.failedOpen + b.failedOpen,
    failedClosed: a.failedClosed + b.failedClosed,
    storeErrors: a.storeErrors + b.storeErrors,
    latencyP50Ms: a.latencyP50Ms,
    latencyP99Ms: a.latencyP99Ms,
  };
}

function parseHistogram(v: SqlStorageValue | undefined): Histogram {
  try {
    const parsed: unknown = JSON.parse(String(v ?? '{}'));
    if (!parsed || typeof parsed !== 'object') return {};
    const out: Histogram = {};
    for (const [k, n] of Object.entries(parsed)) if (typeof n === 'number') out[k] = n;
    return out;
  } catch {
    return {};
  }
}

function parseFields(v: SqlStorageValue | undefined): Record<string, string | number> {
  try {
    const parsed: unknown = JSON.parse(String(v ?? '{}'));
    const out: Record<string, string | number> = {};
    if (parsed && typeof parsed === 'object') {
      for (const [k, x] of Object.entries(parsed)) {
        if (typeof x === 'string' || typeof x === 'number') out[k] = x;
      }
    }
    return out;
  } catch {
    return {};
  }
}
