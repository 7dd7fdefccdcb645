/** Fleet health for operators: decisions over time, latency, store and breaker state, top limited customers, alerts. */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, createClient } from '../api/client';
import type { Metrics, MetricsPoint } from '../api/schemas';
import { CountsTable } from '../components/counts-table';
import { ResolutionPicker } from '../components/resolution-picker';
import { Segmented } from '../components/segmented';
import { Empty, ErrorNotice, Freshness, Loading } from '../components/states';
import { type ChartSeries, TimeChart } from '../components/time-chart';
import {
  formatAgo,
  formatCount,
  formatDateTime,
  formatExact,
  formatLatency,
  formatPercent,
} from '../format';
import { REFRESH_MS, useNow, usePolling } from '../hooks';
import {
  DEFAULT_RESOLUTIONS,
  isResolution,
  METRICS_RANGES,
  RANGE_LABELS,
  RESOLUTION_LABELS,
  type Resolution,
  resolutionMs,
  type UsageRange,
} from '../range';

/** Props of {@link OperatorView}. */
export interface OperatorViewProps {
  readonly apiBase: string;
  readonly adminToken: string;
  onUnauthorized(message: string): void;
}

const BREAKER_TEXT = {
  closed: 'Closed (healthy)',
  'half-open': 'Half-open (probing)',
  open: 'Open (store skipped)',
} as const;

/** Colours with ≥ 4.5:1 contrast on white (Tailwind 700 shades), one per counter. */
const COLORS = {
  checks: '#374151',
  allowed: '#1d4ed8',
  rejected: '#b91c1c',
  bypassed: '#047857',
  unauthenticated: '#9333ea',
  storeErrors: '#a16207',
  p50: '#6d28d9',
  p99: '#be185d',
} as const;

/** The operator page; every number comes from GET /_edgelimit/admin/metrics. */
export function OperatorView({ apiBase, adminToken, onUnauthorized }: OperatorViewProps) {
  const client = useMemo(() => createClient(apiBase, adminToken), [apiBase, adminToken]);
  const [range, setRange] = useState<UsageRange>('1h');
  const [resolution, setResolution] = useState<Resolution>('minute');
  const now = useNow(1000);
  const metrics = usePolling(
    () => client.metrics(range, resolution),
    `metrics:${range}:${resolution}`,
    REFRESH_MS,
  );

  const unauthorized = metrics.error instanceof ApiError && metrics.error.kind === 'unauthorized';
  useEffect(() => {
    if (unauthorized) onUnauthorized('The admin token is no longer accepted; sign in again.');
  }, [unauthorized, onUnauthorized]);

  return (
    <div class="view" data-testid="operator-view">
      <div class="view-head">
        <div>
          <h1>Fleet health</h1>
          <Freshness
            updatedAt={metrics.updatedAt}
            now={now}
            everyMs={REFRESH_MS}
            error={metrics.data ? metrics.error : undefined}
          />
        </div>
        <div class="pickers">
          <Segmented
            legend="Show the last"
            name="metrics-range"
            value={range}
            options={METRICS_RANGES.map((r) => ({ value: r, label: RANGE_LABELS[r] }))}
            onChange={(r) => {
              setRange(r);
              setResolution(DEFAULT_RESOLUTIONS[r]);
            }}
          />
          <ResolutionPicker
            name="metrics-resolution"
            range={range}
            value={resolution}
            onChange={(r) => setResolution(r)}
          />
        </div>
      </div>
      {metrics.data ? (
        <MetricsBody metrics={metrics.data} now={now} range={range} resolution={resolution} />
      ) : metrics.error ? (
        <section class="panel" aria-label="Fleet metrics">
          <ErrorNotice error={metrics.error} onRetry={metrics.refresh} />
        </section>
      ) : (
        <section class="panel" aria-label="Fleet metrics">
          <Loading what="fleet metrics" />
        </section>
      )}
    </div>
  );
}

/** A bucket's latency, or a gap in the line when it saw no checks (its 0 would be no measurement). */
function latencyOf(point: MetricsPoint, field: 'latencyP50Ms' | 'latencyP99Ms'): number | null {
  return point.checks > 0 ? (point[field] ?? null) : null;
}

/** The latest bucket that saw traffic, for latency when the totals carry none. */
function latestLatency(metrics: Metrics): { p50?: number | null; p99?: number | null } {
  const { totals } = metrics;
  if (totals.latencyP50Ms != null || totals.latencyP99Ms != null) {
    return { p50: totals.latencyP50Ms, p99: totals.latencyP99Ms };
  }
  const last = metrics.series.findLast((p) => p.latencyP50Ms != null || p.latencyP99Ms != null);
  return { p50: last?.latencyP50Ms, p99: last?.latencyP99Ms };
}

function MetricsBody({
  metrics,
  now,
  range,
  resolution,
}: {
  metrics: Metrics;
  now: number;
  range: UsageRange;
  resolution: Resolution;
}) {
  const shown: Resolution = isResolution(metrics.resolution) ? metrics.resolution : resolution;
  const intervalMs = resolutionMs(shown);
  const { totals, breaker, writeBehind } = metrics;
  const latency = latestLatency(metrics);
  const charts = useMemo(() => {
    const times = metrics.series.map((p) => Date.parse(p.t));
    const counts: ChartSeries[] = [
      { label: 'Checks', values: metrics.series.map((p) => p.checks), color: COLORS.checks },
      {
        label: 'Passed',
        values: metrics.series.map((p) => p.allowed),
        color: COLORS.allowed,
        fill: 'rgba(29, 78, 216, 0.08)',
      },
      {
        label: 'Rejected',
        values: metrics.series.map((p) => p.rejected),
        color: COLORS.rejected,
        dash: [6, 3],
      },
      { label: 'Bypassed', values: metrics.series.map((p) => p.bypassed), color: COLORS.bypassed },
      {
        label: 'Unauthenticated',
        values: metrics.series.map((p) => p.unauthenticated),
        color: COLORS.unauthenticated,
        dash: [1, 2],
      },
      {
        label: 'Store errors',
        values: metrics.series.map((p) => p.storeErrors),
        color: COLORS.storeErrors,
        dash: [2, 3],
      },
    ];
    const latencies: ChartSeries[] = [
      {
        label: 'p50',
        values: metrics.series.map((p) => latencyOf(p, 'latencyP50Ms')),
        color: COLORS.p50,
      },
      {
        label: 'p99',
        values: metrics.series.map((p) => latencyOf(p, 'latencyP99Ms')),
        color: COLORS.p99,
        dash: [6, 3],
      },
    ];
    return { times, counts, latencies };
  }, [metrics]);
  const during = `in the last ${RANGE_LABELS[range]}`;

  return (
    <>
      <section class="panel" aria-labelledby="kpi-title">
        <h2 id="kpi-title">Totals {during}</h2>
        <h3 class="kpi-group">Traffic</h3>
        <dl class="totals" data-testid="fleet-totals">
          <div>
            <dt>Checks</dt>
            <dd data-testid="kpi-checks" title={formatExact(totals.checks)}>
              {formatCount(totals.checks)}
            </dd>
          </div>
          <div>
            <dt>Passed</dt>
            <dd data-testid="kpi-allowed" title={formatExact(totals.allowed)}>
              {formatCount(totals.allowed)}
            </dd>
          </div>
          <div>
            <dt>Rejected</dt>
            <dd data-testid="kpi-rejected" title={formatExact(totals.rejected)}>
              {formatCount(totals.rejected)}
              <small> ({formatPercent(totals.rejected, totals.checks)})</small>
            </dd>
          </div>
          <div>
            <dt>Bypassed (internal)</dt>
            <dd title={formatExact(totals.bypassed)}>{formatCount(totals.bypassed)}</dd>
          </div>
          <div>
            <dt>Unauthenticated (401)</dt>
            <dd data-testid="kpi-unauthenticated" title={formatExact(totals.unauthenticated)}>
              {formatCount(totals.unauthenticated)}
            </dd>
          </div>
        </dl>
        <h3 class="kpi-group">Limiter health</h3>
        <dl class="totals" data-testid="fleet-health">
          <div>
            <dt>Latency p50</dt>
            <dd data-testid="kpi-p50">{formatLatency(latency.p50)}</dd>
          </div>
          <div>
            <dt>Latency p99</dt>
            <dd data-testid="kpi-p99">{formatLatency(latency.p99)}</dd>
          </div>
          <div>
            <dt>Store errors</dt>
            <dd class={totals.storeErrors > 0 ? 'is-bad' : undefined}>
              {formatCount(totals.storeErrors)}
            </dd>
          </div>
          <div>
            <dt>Failed open / closed</dt>
            <dd>
              {formatCount(totals.failedOpen)} / {formatCount(totals.failedClosed)}
            </dd>
          </div>
          <div>
            <dt>Circuit breaker</dt>
            <dd class={`breaker is-${breaker.state}`} data-testid="breaker">
              <span class="breaker-state">{BREAKER_TEXT[breaker.state]}</span>
              {breaker.since ? (
                <small> since {formatDateTime(Date.parse(breaker.since))}</small>
              ) : null}
            </dd>
          </div>
          <div>
            <dt>Write-behind failures</dt>
            <dd
              class={writeBehind?.failures ? 'breaker is-open' : undefined}
              data-testid="write-behind"
              title={writeBehind?.lastError ?? undefined}
            >
              {formatCount(writeBehind?.failures ?? 0)}
            </dd>
          </div>
        </dl>
      </section>

      <section class="panel" aria-labelledby="decisions-title">
        <h2 id="decisions-title">Decisions over time</h2>
        <figure class="chart-figure">
          <TimeChart
            testId="fleet-chart"
            times={charts.times}
            series={charts.counts}
            intervalMs={intervalMs}
            now={now}
            style="steps"
            yLabel={`Decisions per ${RESOLUTION_LABELS[shown]}`}
          />
          <figcaption>
            {totals.checks === 0
              ? `No rate-limit checks ${during}.`
              : `${formatExact(totals.checks)} checks ${during}: ${formatExact(totals.allowed)} passed, ${formatExact(totals.rejected)} rejected, ${formatExact(totals.bypassed)} bypassed, ${formatExact(totals.unauthenticated)} unauthenticated, ${formatExact(totals.storeErrors)} store errors.`}
          </figcaption>
        </figure>
      </section>

      <section class="panel" aria-labelledby="latency-title">
        <h2 id="latency-title">Decision latency</h2>
        <figure class="chart-figure">
          <TimeChart
            testId="latency-chart"
            times={charts.times}
            series={charts.latencies}
            formatValue={formatLatency}
            integer={false}
            style="points"
            intervalMs={intervalMs}
            now={now}
            yLabel="Latency (ms)"
            atLeast={Math.max(
              0,
              ...charts.latencies.flatMap((s) => s.values.map((v) => v ?? 0)),
              latency.p99 ?? 0,
            )}
            height={200}
          />
          <figcaption>
            Time the limiter spent deciding, per interval (median and 99th percentile; p99 over the
            whole range: {formatLatency(latency.p99)}).
          </figcaption>
        </figure>
      </section>

      <div class="two-col">
        <section class="panel" aria-labelledby="top-title">
          <h2 id="top-title">Most limited customers</h2>
          {metrics.topLimited.length === 0 ? (
            <Empty>No customer was rate limited {during}.</Empty>
          ) : (
            <CountsTable
              testId="top-limited"
              nameHeader="Customer"
              rejectedFirst
              rows={metrics.topLimited.map((c) => ({
                key: c.customerId,
                label: c.customerId,
                ...c,
              }))}
            />
          )}
        </section>

        <section class="panel" aria-labelledby="alerts-title">
          <h2 id="alerts-title">Recent alerts</h2>
          {metrics.recentAlerts.length === 0 ? (
            <Empty>No alerts {during}.</Empty>
          ) : (
            <ul class="alerts" data-testid="alerts">
              {metrics.recentAlerts.map((a, i) => (
                <li key={`${a.time}-${i}`}>
                  <span class={`badge alert-${a.kind}`}>{a.kind}</span>
                  <time dateTime={a.time} title={formatDateTime(Date.parse(a.time))}>
                    {formatAgo(Date.parse(a.time), now)}
                  </time>
                  {a.customerId ? <span class="alert-customer">{a.customerId}</span> : null}
                  <p>{a.message}</p>
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>
    </>
  );
}
