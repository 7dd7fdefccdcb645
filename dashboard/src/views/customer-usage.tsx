/** The customer's history: allowed vs rejected over a chosen range, per rule, and recent 429s. */
import { useMemo } from 'preact/hooks';
import type { RateLimitStatus, Usage } from '../api/schemas';
import { CountsTable } from '../components/counts-table';
import { ResolutionPicker } from '../components/resolution-picker';
import { Segmented } from '../components/segmented';
import { Empty, ErrorNotice, Loading } from '../components/states';
import { type ChartSeries, TimeChart } from '../components/time-chart';
import {
  formatAgo,
  formatAmount,
  formatBucket,
  formatCount,
  formatDateTime,
  formatExact,
  formatPercent,
  formatWindow,
  formatWindowId,
  timeZoneLabel,
} from '../format';
import type { Polled } from '../hooks';
import {
  isResolution,
  RANGE_LABELS,
  RESOLUTION_LABELS,
  type Resolution,
  resolutionMs,
  USAGE_RANGES,
  type UsageRange,
} from '../range';

/** Chart colours: blue-700 and red-700 keep ≥ 4.5:1 against white, for lines and legend text. */
export const ALLOWED_COLOR = '#1d4ed8';
export const REJECTED_COLOR = '#b91c1c';

/** Props of {@link CustomerUsage}. */
export interface CustomerUsageProps {
  readonly usage: Polled<Usage>;
  readonly range: UsageRange;
  readonly resolution: Resolution;
  readonly ranges?: readonly UsageRange[];
  onRange(range: UsageRange): void;
  onResolution(resolution: Resolution): void;
  readonly now: number;
  /** The limits in force: the chart's limit line and the endpoint rules' names. */
  readonly status?: RateLimitStatus | undefined;
}

/** History, breakdown by endpoint rule and the most recent rejections. */
export function CustomerUsage(props: CustomerUsageProps) {
  const { usage, range, resolution, onRange, onResolution, now, status } = props;
  const ranges = props.ranges ?? USAGE_RANGES;
  return (
    <>
      <section class="panel" aria-labelledby="history-title">
        <div class="panel-head">
          <h2 id="history-title">Requests over time</h2>
          <div class="pickers">
            <Segmented
              legend="Show the last"
              name="usage-range"
              value={range}
              options={ranges.map((r) => ({ value: r, label: RANGE_LABELS[r] }))}
              onChange={onRange}
            />
            <ResolutionPicker
              name="usage-resolution"
              range={range}
              value={resolution}
              onChange={onResolution}
            />
          </div>
        </div>
        <UsageBody usage={usage} range={range} resolution={resolution} now={now} status={status} />
      </section>
      {usage.data ? (
        <div class="two-col">
          <ByRule usage={usage.data} status={status} />
          <RecentRejections usage={usage.data} now={now} />
        </div>
      ) : null}
    </>
  );
}

/**
 * The limit line for a resolution: the tier window exactly one interval long (per minute at
 * minute resolution, per day at day resolution). Every allowed request counts in it, and an
 * interval is a window, so no bar of allowed requests can rise above it.
 */
export function limitLineFor(
  status: RateLimitStatus | undefined,
  intervalMs: number,
): { value: number; label: string } | undefined {
  const w = status?.windows.find((x) => !x.rule && !x.shadow && x.windowMs === intervalMs);
  return w
    ? { value: w.limit, label: `Limit: ${formatAmount(w.limit)} ${formatWindow(w.window)}` }
    : undefined;
}

function UsageBody({
  usage,
  range,
  resolution,
  now,
  status,
}: {
  usage: Polled<Usage>;
  range: UsageRange;
  resolution: Resolution;
  now: number;
  status: RateLimitStatus | undefined;
}) {
  // Hooks before any early return: the chart inputs only change when new data arrives.
  const chart = useUsageChart(usage.data);
  if (!usage.data) {
    if (usage.error) return <ErrorNotice error={usage.error} onRetry={usage.refresh} />;
    return <Loading what="usage history" />;
  }
  const data = usage.data;
  const shown: Resolution = isResolution(data.resolution) ? data.resolution : resolution;
  const intervalMs = resolutionMs(shown);
  const limit = limitLineFor(status, intervalMs);
  const during = `in the last ${RANGE_LABELS[range]}`;
  const { allowed, rejected } = data.totals;
  const total = allowed + rejected;
  const busy = data.series.filter((p) => p.allowed + p.rejected > 0);
  return (
    <>
      <dl class="totals" data-testid="usage-totals">
        <div>
          <dt>Requests</dt>
          <dd title={formatExact(total)}>{formatCount(total)}</dd>
        </div>
        <div>
          <dt>Allowed</dt>
          <dd data-testid="total-allowed" title={formatExact(allowed)}>
            {formatCount(allowed)}
          </dd>
        </div>
        <div>
          <dt>Rejected (429)</dt>
          <dd data-testid="total-rejected" title={formatExact(rejected)}>
            {formatCount(rejected)}
          </dd>
        </div>
        <div>
          <dt>Rejection rate</dt>
          <dd>{formatPercent(rejected, total)}</dd>
        </div>
      </dl>
      <figure class="chart-figure">
        <TimeChart
          testId="usage-chart"
          times={chart.times}
          series={chart.series}
          intervalMs={intervalMs}
          now={now}
          yLabel={`Requests per ${RESOLUTION_LABELS[shown]}`}
          {...(limit ? { limit } : {})}
        />
        <figcaption>
          {total === 0
            ? `No requests ${during}. Send a request with your key and it shows up here within seconds.`
            : `${formatExact(allowed)} allowed and ${formatExact(rejected)} rejected ${during}, counted per ${RESOLUTION_LABELS[shown]} (bars: allowed in blue, rejected stacked in red; the hatched bar is the current ${RESOLUTION_LABELS[shown]}, still filling).`}
          {data.source === 'embedded' ? ' Local data (embedded store).' : ''}
        </figcaption>
      </figure>
      {busy.length > 0 ? (
        <details class="data-table">
          <summary>Show as a table ({busy.length} non-empty intervals)</summary>
          <div class="table-scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">Interval starting ({timeZoneLabel(now)})</th>
                  <th scope="col" class="num">
                    Allowed
                  </th>
                  <th scope="col" class="num">
                    Rejected
                  </th>
                </tr>
              </thead>
              <tbody>
                {busy
                  .slice(-100)
                  .reverse()
                  .map((p) => (
                    <tr key={p.t}>
                      <td>
                        <time dateTime={p.t}>{formatBucket(Date.parse(p.t), intervalMs)}</time>
                      </td>
                      <td class="num">{formatExact(p.allowed)}</td>
                      <td class="num">{formatExact(p.rejected)}</td>
                    </tr>
                  ))}
              </tbody>
            </table>
          </div>
        </details>
      ) : null}
    </>
  );
}

/** Chart inputs derived once per response. */
function useUsageChart(data: Usage | undefined): { times: number[]; series: ChartSeries[] } {
  return useMemo(() => {
    const points = data?.series ?? [];
    return {
      times: points.map((p) => Date.parse(p.t)),
      // Stacked bars: the red bar (allowed + rejected) is drawn first, the blue one over it, so
      // the red part showing is the rejected share. The legend shows each count on its own.
      series: [
        {
          label: 'Rejected',
          values: points.map((p) => p.rejected),
          drawn: points.map((p) => p.allowed + p.rejected),
          color: REJECTED_COLOR,
        },
        {
          label: 'Allowed',
          values: points.map((p) => p.allowed),
          color: ALLOWED_COLOR,
        },
      ],
    };
  }, [data]);
}

/** A rule's name for people: its request ("POST /v1/search") when the limits say which. */
function ruleLabel(rule: string, status: RateLimitStatus | undefined): string {
  if (rule === 'default') return 'Other requests (no endpoint limit)';
  const w = status?.windows.find((x) => x.rule === rule && x.method && x.path);
  return w?.method && w.path ? `${w.method === '*' ? 'Any' : w.method} ${w.path}` : rule;
}

function ByRule({ usage, status }: { usage: Usage; status: RateLimitStatus | undefined }) {
  return (
    <section class="panel" aria-labelledby="rules-title">
      <h2 id="rules-title">By endpoint limit</h2>
      {usage.byRule.length === 0 ? (
        <Empty>No requests in this range.</Empty>
      ) : (
        <CountsTable
          testId="by-rule"
          nameHeader="Requests"
          rows={usage.byRule.map((r) => ({
            key: r.rule,
            label: ruleLabel(r.rule, status),
            allowed: r.allowed,
            rejected: r.rejected,
          }))}
        />
      )}
    </section>
  );
}

/** Identical rejections as one row; from the API's groups, else grouped here from the recent list. */
export function rejectionRows(usage: Usage): {
  method: string;
  path: string;
  window: string;
  count: number;
  first: string;
  last: string;
}[] {
  if (usage.rejectionGroups) return usage.rejectionGroups;
  const groups = new Map<string, ReturnType<typeof rejectionRows>[number]>();
  for (const r of usage.recentRejections) {
    const window = r.window ?? '';
    const key = `${r.method} ${r.path} ${window}`;
    const g = groups.get(key);
    if (!g)
      groups.set(key, {
        method: r.method,
        path: r.path,
        window,
        count: 1,
        first: r.time,
        last: r.time,
      });
    else {
      g.count++;
      if (r.time < g.first) g.first = r.time;
      if (r.time > g.last) g.last = r.time;
    }
  }
  return [...groups.values()];
}

function RecentRejections({ usage, now }: { usage: Usage; now: number }) {
  const rows = rejectionRows(usage);
  return (
    <section class="panel" aria-labelledby="rejections-title">
      <h2 id="rejections-title">Recent 429s</h2>
      {rows.length === 0 ? (
        <Empty>No rejected requests in this range.</Empty>
      ) : (
        <div class="table-scroll">
          <table data-testid="recent-429s">
            <thead>
              <tr>
                <th scope="col">Request</th>
                <th scope="col">Limit hit</th>
                <th scope="col" class="num">
                  Times
                </th>
                <th scope="col">First seen</th>
                <th scope="col">Last seen</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={`${r.method} ${r.path} ${r.window}`}>
                  <td>
                    <code>
                      {r.method} {r.path}
                    </code>
                  </td>
                  <td>{r.window ? formatWindowId(r.window) : '–'}</td>
                  <td class="num">{formatExact(r.count)}</td>
                  <td>
                    <time dateTime={r.first} title={formatDateTime(Date.parse(r.first))}>
                      {formatAgo(Date.parse(r.first), now)}
                    </time>
                  </td>
                  <td>
                    <time dateTime={r.last} title={formatDateTime(Date.parse(r.last))}>
                      {formatAgo(Date.parse(r.last), now)}
                    </time>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
