/**
 * Fleet anomaly rules run by the scheduled check: pure functions over per-minute counters, so
 * they are unit and property tested without clocks or I/O.
 */
import type { Alert, AlertCandidate } from './alerts';
import type { BreakerStatus } from './telemetry';

/** Counters of one complete minute (zeros for minutes without traffic). */
export interface MinuteCounters {
  readonly t: number;
  readonly checks: number;
  readonly rejected: number;
  readonly bypassed: number;
  readonly failedOpen: number;
  readonly failedClosed: number;
  readonly storeErrors: number;
}

/** Thresholds of the anomaly rules; {@link DEFAULT_RULES} documents each. */
export interface AnomalyRules {
  /** Minutes before the evaluated one that form the baseline. */
  readonly baselineMinutes: number;
  /** Baseline minutes with traffic needed before spike or drop rules may fire. */
  readonly minBaselineMinutes: number;
  /** Spike: the minute's rejection rate is at least this many times the baseline rate... */
  readonly spikeFactor: number;
  /** ...and at least this much above it (absolute, 0..1)... */
  readonly spikeMinIncrease: number;
  /** ...with at least this many rejections and checks in the minute. */
  readonly spikeMinRejected: number;
  readonly minChecks: number;
  /** Store errors: at least this share of the minute's checks... */
  readonly storeErrorRate: number;
  /** ...and at least this many errors. */
  readonly storeErrorMin: number;
  /** Drop: the minute has less than this share of the baseline's mean checks per minute... */
  readonly dropFraction: number;
  /** ...and the baseline averaged at least this many checks per minute. */
  readonly dropMinBaseline: number;
  /** How long one anomaly kind stays quiet after firing. */
  readonly quietMs: number;
}

/** Default thresholds (docs/metrics.md lists them). */
export const DEFAULT_RULES: AnomalyRules = {
  baselineMinutes: 30,
  minBaselineMinutes: 5,
  spikeFactor: 3,
  spikeMinIncrease: 0.1,
  spikeMinRejected: 20,
  minChecks: 50,
  storeErrorRate: 0.05,
  storeErrorMin: 5,
  dropFraction: 0.2,
  dropMinBaseline: 100,
  quietMs: 15 * 60_000,
};

/**
 * A breaker state inferred from counts when nothing reports one: open when at least half of the
 * minute's limited checks failed over (and at least 10 did), since the first such minute in a row.
 * Minutes without limited traffic are no evidence either way and leave the state as it was.
 */
export function derivedBreaker(minutes: readonly MinuteCounters[]): BreakerStatus {
  let since: number | null = null;
  for (const m of minutes) {
    const failed = m.failedOpen + m.failedClosed;
    const limited = m.checks - m.bypassed;
    if (limited <= 0) continue;
    const open = failed >= 10 && failed >= 0.5 * limited;
    since = open ? (since ?? m.t) : null;
  }
  return since === null ? { state: 'closed', since: null } : { state: 'open', since };
}

/**
 * Evaluates the last minute of `minutes` (oldest first, complete minutes only) against the ones
 * before it. Returns one candidate per anomaly, deduplicated per kind for `rules.quietMs`.
 */
export function detectAnomalies(
  minutes: readonly MinuteCounters[],
  breaker: BreakerStatus,
  rules: AnomalyRules = DEFAULT_RULES,
): AlertCandidate[] {
  const current = minutes[minutes.length - 1];
  if (!current) return [];
  const baseline = minutes.slice(-1 - rules.baselineMinutes, -1);
  const active = baseline.filter((m) => m.checks > 0);
  const baseChecks = active.reduce((s, m) => s + m.checks, 0);
  const baseRejected = active.reduce((s, m) => s + m.rejected, 0);
  const baseRate = baseChecks > 0 ? baseRejected / baseChecks : 0;
  const enoughHistory = active.length >= rules.minBaselineMinutes;
  const at = current.t + 60_000;
  const out: AlertCandidate[] = [];
  const raise = (alert: Omit<Alert, 'time'>) => {
    const slot = Math.floor(at / rules.quietMs) * rules.quietMs;
    out.push({
      dedupKey: `${alert.kind}:fleet:${slot}`,
      expiresAt: slot + rules.quietMs,
      alert: { ...alert, time: at },
    });
  };

  const rate = current.checks > 0 ? current.rejected / current.checks : 0;
  if (
    enoughHistory &&
    current.checks >= rules.minChecks &&
    current.rejected >= rules.spikeMinRejected &&
    rate >= baseRate * rules.spikeFactor &&
    rate - baseRate >= rules.spikeMinIncrease
  ) {
    raise({
      kind: 'rejection-spike',
      severity: 'warning',
      message: `Rejections spiked to ${pct(rate)} of checks (${current.rejected}/${current.checks}) against a ${pct(baseRate)} baseline over ${active.length} min.`,
      fields: {
        rate: round(rate),
        baselineRate: round(baseRate),
        rejected: current.rejected,
        checks: current.checks,
      },
    });
  }

  const errorRate = current.checks > 0 ? current.storeErrors / current.checks : 0;
  if (current.storeErrors >= rules.storeErrorMin && errorRate >= rules.storeErrorRate) {
    raise({
      kind: 'store-errors',
      severity: 'critical',
      message: `Counter store failed on ${pct(errorRate)} of checks (${current.storeErrors}/${current.checks}) in the last minute; requests failed open or closed.`,
      fields: {
        errorRate: round(errorRate),
        storeErrors: current.storeErrors,
        failedOpen: current.failedOpen,
        failedClosed: current.failedClosed,
      },
    });
  }

  if (breaker.state === 'open') {
    raise({
      kind: 'breaker-open',
      severity: 'critical',
      message: `The store circuit breaker is open${breaker.since !== null ? ` since ${new Date(breaker.since).toISOString()}` : ''}; the limiter is failing over.`,
      fields: {
        state: breaker.state,
        since: breaker.since !== null ? new Date(breaker.since).toISOString() : '',
      },
    });
  }

  const meanChecks = baseline.length > 0 ? baseChecks / baseline.length : 0;
  if (
    enoughHistory &&
    meanChecks >= rules.dropMinBaseline &&
    current.checks < rules.dropFraction * meanChecks
  ) {
    raise({
      kind: 'traffic-drop',
      severity: 'warning',
      message: `Traffic dropped to ${current.checks} checks/min from a ${Math.round(meanChecks)}/min baseline (${pct(current.checks / meanChecks)}).`,
      fields: { checks: current.checks, baselinePerMinute: Math.round(meanChecks) },
    });
  }
  return out;
}

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

function round(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}

/**
 * The write-behind alert: any failed batch in the minute means Redis lags the Durable Objects
 * (they keep deciding exactly, and retry), which operators must know about.
 */
export function writeBehindCandidates(
  minute: number,
  failed: { readonly failures: number; readonly lastError: string | null },
  quietMs: number = DEFAULT_RULES.quietMs,
): AlertCandidate[] {
  if (failed.failures <= 0) return [];
  return [
    {
      dedupKey: 'anomaly:write-behind-failing',
      expiresAt: minute + 60_000 + quietMs,
      alert: {
        time: minute + 60_000,
        kind: 'write-behind-failing',
        severity: 'critical',
        message: `Write-behind to Redis failed ${failed.failures} time(s) in the last minute${failed.lastError ? ` (${failed.lastError})` : ''}; the objects keep deciding and retry, Redis lags them.`,
        fields: { failures: failed.failures },
      },
    },
  ];
}
