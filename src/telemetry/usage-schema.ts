/**
 * The embedded usage store's SQLite schema, retention and row readers, shared by its reads and
 * writes. Plain code over {@link UsageSql}: the usage object passes `ctx.storage.sql`, tests pass
 * node:sqlite.
 */
import type { Histogram } from './latency-histogram';
import { type FleetCounters, RESOLUTIONS, type Span } from './usage-source';

/** A value SQLite stores. */
export type SqlValue = ArrayBuffer | string | number | null;
/** One result row. */
export type Row = Record<string, SqlValue>;

/** What the usage SQL needs of a SQLite handle (the shape of a Durable Object's `SqlStorage`). */
export interface UsageSql {
  exec(query: string, ...bindings: SqlValue[]): { toArray(): Row[]; readonly rowsWritten: number };
}

/** Name of the one instance every isolate writes to. */
export const USAGE_INSTANCE = 'fleet';

export const MINUTE = 60_000;
export const HOUR = 3_600_000;
/** Retention, ms. */
export const RETENTION = {
  minute: 48 * HOUR,
  hour: 35 * 24 * HOUR,
  rejections: 48 * HOUR,
  alerts: 30 * 24 * HOUR,
} as const;
export const MAX_REJECTION_ROWS = 50_000;
export const MAX_ALERT_ROWS = 5_000;
export const CLEANUP_EVERY_MS = 10 * MINUTE;

/** Tables and indexes, created if missing (idempotent); then {@link migrate}. */
export const SCHEMA = `
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

/** The table resolution and bucket width a span reads. */
export function table(span: Span): { res: 'm' | 'h'; width: number } {
  return { res: span.resolution === 'minute' ? 'm' : 'h', width: RESOLUTIONS[span.resolution] };
}

/** A SQL value as a number (SUM of no rows is null). */
export function num(v: SqlValue | undefined): number {
  return typeof v === 'number' ? v : Number(v ?? 0);
}

/** Fleet counters of one `fleet` row. */
export function countersOf(r: Row): FleetCounters {
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
export function addCounters(a: FleetCounters, b: FleetCounters): FleetCounters {
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

/** A stored latency histogram; anything malformed reads as empty. */
export function parseHistogram(v: SqlValue | undefined): Histogram {
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

/** Stored alert fields; anything malformed reads as empty. */
export function parseFields(v: SqlValue | undefined): Record<string, string | number> {
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

/** Creates the schema, and brings tables of older objects up to it (rows kept). */
export function migrate(sql: UsageSql): void {
  sql.exec(SCHEMA);
  // Objects created before the column existed keep their rows and gain it at zero.
  const columns = sql.exec("SELECT name FROM pragma_table_info('fleet')").toArray();
  if (!columns.some((c) => c.name === 'unauthenticated')) {
    sql.exec('ALTER TABLE fleet ADD COLUMN unauthenticated INTEGER NOT NULL DEFAULT 0');
  }
}

/** Failed write-behind batches over a span. */
export interface WriteBehindFailures {
  readonly failures: number;
  readonly lastAt: number | null;
  readonly lastError: string | null;
}
