/**
 * The embedded usage store, as a thin shell: one Durable Object with SQLite storage (instance
 * "fleet") holding per-customer and fleet counters by minute and hour, recent rejections, recent
 * alerts, alert dedup state shared by every isolate, and the last reported breaker state. The SQL
 * lives in `telemetry/usage-schema.ts`, `usage-writes.ts` and `usage-reads.ts`; retention runs on
 * the alarm: minute rows 48 h, hour rows 35 d, rejections 48 h, alerts 30 d.
 */
import { DurableObject } from 'cloudflare:workers';
import type { Alert, AlertCandidate } from '../telemetry/alerts';
import type { MinuteCounters } from '../telemetry/anomaly';
import type { BreakerChange, BreakerStatus } from '../telemetry/telemetry';
import type { UsageBatch } from '../telemetry/usage-batch';
import {
  breaker,
  customerUsage,
  fleetMetrics,
  minutes,
  recentAlerts,
  writeBehindFailures,
} from '../telemetry/usage-reads';
import { CLEANUP_EVERY_MS, migrate, type WriteBehindFailures } from '../telemetry/usage-schema';
import type { CustomerUsage, FleetMetrics, Span } from '../telemetry/usage-source';
import {
  admit,
  deleteExpired,
  recordBatch,
  recordWriteBehindFailure,
  reportBreaker,
} from '../telemetry/usage-writes';

export class UsageObject extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    migrate(this.sql);
  }

  /**
   * Adds a batch of counters and raises its alert candidates. Returns the alerts admitted now:
   * candidates whose dedup key was not seen before (so each fires once across all isolates).
   */
  async record(batch: UsageBatch, now: number = Date.now()): Promise<Alert[]> {
    const admitted = this.ctx.storage.transactionSync(() => recordBatch(this.sql, batch, now));
    await this.scheduleCleanup(now);
    return admitted;
  }

  /** Raises alert candidates (scheduled checks, config errors); returns the ones admitted now. */
  async raise(candidates: readonly AlertCandidate[], now: number = Date.now()): Promise<Alert[]> {
    const admitted = this.ctx.storage.transactionSync(() => admit(this.sql, candidates, now));
    await this.scheduleCleanup(now);
    return admitted;
  }

  /** One customer's usage over a span. */
  async customerUsage(customerId: string, span: Span): Promise<CustomerUsage> {
    return customerUsage(this.sql, customerId, span);
  }

  /** Fleet counters over a span, percentiles computed from merged latency histograms. */
  async fleetMetrics(span: Span): Promise<FleetMetrics> {
    return fleetMetrics(this.sql, span);
  }

  /** Complete-minute fleet counters from `from` to `to` (inclusive minute starts), zero-filled. */
  async minutes(from: number, to: number): Promise<MinuteCounters[]> {
    return minutes(this.sql, from, to);
  }

  /** Newest alerts first. */
  async recentAlerts(limit = 50): Promise<Alert[]> {
    return recentAlerts(this.sql, limit);
  }

  /** Counts one failed write-behind batch (see `usage-writes.ts`). */
  async reportWriteBehindFailure(at: number, message: string): Promise<void> {
    recordWriteBehindFailure(this.sql, at, message);
  }

  /** Failed write-behind batches in `[from, to]` (minute starts), and the latest one. */
  async writeBehindFailures(from: number, to: number): Promise<WriteBehindFailures> {
    return writeBehindFailures(this.sql, from, to);
  }

  /** Records a breaker transition reported by the hot path. */
  async reportBreaker(report: BreakerChange): Promise<void> {
    reportBreaker(this.sql, report);
  }

  /**
   * The breaker state: the latest one the hot path reported, else one derived from the last five
   * minutes of fail-over counts.
   */
  async breaker(now: number = Date.now()): Promise<BreakerStatus> {
    return breaker(this.sql, now);
  }

  /** Deletes what is past retention; reschedules itself while data remains. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    deleteExpired(this.sql, now);
    await this.ctx.storage.setAlarm(now + CLEANUP_EVERY_MS);
  }

  private async scheduleCleanup(now: number): Promise<void> {
    if ((await this.ctx.storage.getAlarm()) === null) {
      await this.ctx.storage.setAlarm(now + CLEANUP_EVERY_MS);
    }
  }
}
