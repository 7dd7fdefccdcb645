/** The embedded usage store's writes: batches, alert dedup, breaker reports, retention (plain SQL). */
import type { Alert, AlertCandidate } from './alerts';
import { mergeInto } from './latency-histogram';
import type { BreakerChange } from './telemetry';
import type { UsageBatch } from './usage-batch';
import {
  HOUR,
  MAX_ALERT_ROWS,
  MAX_REJECTION_ROWS,
  MINUTE,
  parseHistogram,
  RETENTION,
  type UsageSql,
} from './usage-schema';

/**
 * Adds a batch of counters and raises its alert candidates (run it in one transaction). Returns
 * the alerts admitted now: candidates whose dedup key was not seen before, so each fires once
 * across all isolates.
 */
export function recordBatch(sql: UsageSql, batch: UsageBatch, now: number): Alert[] {
  const admitted: Alert[] = [];
  for (const r of batch.usage) {
    for (const [res, width] of [
      ['m', MINUTE],
      ['h', HOUR],
    ] as const) {
      sql.exec(
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
      const existing = sql
        .exec('SELECT latency FROM fleet WHERE res = ? AND t = ?', res, t)
        .toArray()[0];
      const latency = mergeInto(existing ? parseHistogram(existing.latency) : {}, f.latency);
      sql.exec(
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
    sql.exec(
      'INSERT INTO rejections (time, customer, method, path, win) VALUES (?, ?, ?, ?, ?)',
      r.time,
      r.customer,
      r.method,
      r.path,
      r.window,
    );
  }
  admitted.push(...admit(sql, batch.alerts, now));
  return admitted;
}

/** Records the alerts whose dedup key is new (or expired) at `now`; returns them. */
export function admit(sql: UsageSql, candidates: readonly AlertCandidate[], now: number): Alert[] {
  const admitted: Alert[] = [];
  for (const c of candidates) {
    const fresh = sql.exec(
      `INSERT INTO alert_dedup (key, expires) VALUES (?, ?)
       ON CONFLICT (key) DO UPDATE SET expires = excluded.expires WHERE alert_dedup.expires < ?`,
      c.dedupKey,
      c.expiresAt,
      now,
    ).rowsWritten;
    if (fresh === 0) continue;
    const a = c.alert;
    sql.exec(
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

/** Records a breaker transition reported by the hot path. */
export function reportBreaker(sql: UsageSql, report: BreakerChange): void {
  const current = sql.exec('SELECT state FROM breaker WHERE store = ?', report.store).toArray()[0];
  if (current && current.state === report.state) return;
  sql.exec(
    `INSERT INTO breaker (store, state, since, updated) VALUES (?, ?, ?, ?)
     ON CONFLICT (store) DO UPDATE SET state = excluded.state, since = excluded.since,
       updated = excluded.updated`,
    report.store,
    report.state,
    report.state === 'closed' ? null : report.at,
    report.at,
  );
}

/** Deletes what is past retention or beyond the row caps. */
export function deleteExpired(sql: UsageSql, now: number): void {
  sql.exec('DELETE FROM usage WHERE res = ? AND t < ?', 'm', now - RETENTION.minute);
  sql.exec('DELETE FROM usage WHERE res = ? AND t < ?', 'h', now - RETENTION.hour);
  sql.exec('DELETE FROM fleet WHERE res = ? AND t < ?', 'm', now - RETENTION.minute);
  sql.exec('DELETE FROM fleet WHERE res = ? AND t < ?', 'h', now - RETENTION.hour);
  sql.exec('DELETE FROM rejections WHERE time < ?', now - RETENTION.rejections);
  sql.exec(
    'DELETE FROM rejections WHERE id <= (SELECT MAX(id) FROM rejections) - ?',
    MAX_REJECTION_ROWS,
  );
  sql.exec('DELETE FROM alerts WHERE time < ?', now - RETENTION.alerts);
  sql.exec('DELETE FROM alerts WHERE id <= (SELECT MAX(id) FROM alerts) - ?', MAX_ALERT_ROWS);
  sql.exec('DELETE FROM alert_dedup WHERE expires < ?', now);
}

/**
 * Counts one failed write-behind batch (a Limiter object could not reach Redis), per minute:
 * Redis then lags the objects, which keep deciding, so it is counted here, shown in the fleet
 * metrics and alerted on by the scheduled check, never silent.
 */
export function recordWriteBehindFailure(sql: UsageSql, at: number, message: string): void {
  const t = Math.floor(at / MINUTE) * MINUTE;
  sql.exec(
    `INSERT INTO write_behind (t, failures, last_at, last_error) VALUES (?, 1, ?, ?)
     ON CONFLICT (t) DO UPDATE SET failures = failures + 1, last_at = excluded.last_at,
     last_error = excluded.last_error`,
    t,
    at,
    message.slice(0, 300),
  );
  sql.exec('DELETE FROM write_behind WHERE t < ?', t - 30 * 24 * 60 * MINUTE);
}
