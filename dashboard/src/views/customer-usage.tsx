/** The customer's history: allowed vs rejected over a chosen range, per rule, and recent 429s. */
import { useMemo } from 'preact/hooks';
import type { Usage } from '../api/schemas';
import { CountsTable } from '../components/counts-table';
import { ResolutionPicker } from '../components/resolution-picker';
import { Segmented } from '../components/segmented';
import { Empty, ErrorNotice, Loading } from '../components/states';
import { type ChartSeries, TimeChart } from '../components/time-chart';
import {
  formatAgo,
  formatCount,
  formatDateTime,
  formatExact,
  formatPercent,
  formatTime,
  formatWindowId,
  type TimePrecision,
} from '../format';
import type { Polled } from '../hooks';
import {
  isResolution,
  RANGE_LABELS,
  RESOLUTION_LABELS,
  type Resolution,
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
}

/** History, breakdown by endpoint rule and the most recent rejections. */
export function CustomerUsage(props: CustomerUsageProps) {
  const { usage, range, resolution, onRange, onResolution, now } = props;
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
        <UsageBody usage={usage} range={range} resolution={resolution} />
      </section>
      {usage.data ? (
        <div class="two-col">
          <ByRule usage={usage.data} />
          <RecentRejections usage={usage.data} now={now} />
        </div>
      ) : null}
    </>
  );
}

function UsageBody({
  usage,
  range,
  resolution,
}: {
  usage: Polled<Usage>;
  range: UsageRange;
  resolution: Resolution;
}) {
  // Hooks before any early return: the chart inputs only change when new data arrives.
  const chart = useUsageChart(usage.data);
  if (!usage.data) {
    if (usage.error) return <ErrorNotice error={usage.error} onRetry={usage.refresh} />;
    return <Loading what="usage history" />;
  }
  const data = usage.data;
  const shown: Resolution = isResolution(data.resolution) ? data.resolution : resolution;
  const precision: TimePrecision = shown;
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
        {/* Units differ from requests only with weighted endpoints; said only then. */}
        {data.totals.units !== undefined && data.totals.units !== allowed ? (
          <div>
            <dt>Units used (weighted)</dt>
            <dd data-testid="total-units" title={formatExact(data.totals.units)}>
              {formatCount(data.totals.units)}
            </dd>
          </div>
        ) : null}
        {data.totals.charged ? (
          <div>
            <dt>Charged by the API</dt>
            <dd data-testid="total-charged" title={formatExact(data.totals.charged)}>
              {formatCount(data.totals.charged)}
            </dd>
          </div>
        ) : null}
        {data.totals.peakInFlight ? (
          <div>
            <dt>Most in flight at once</dt>
            <dd data-testid="peak-in-flight">{formatExact(data.totals.peakInFlight)}</dd>
          </div>
        ) : null}
      </dl>
      <figure class="chart-figure">
        <TimeChart testId="usage-chart" times={chart.times} series={chart.series} />
        <figcaption>
          {total === 0
            ? `No requests ${during}. Send a request with your key and it shows up here within seconds.`
            : `${formatExact(allowed)} allowed and ${formatExact(rejected)} rejected ${during}, counted per ${RESOLUTION_LABELS[shown]}.`}
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
                  <th scope="col">Interval starting</th>
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
                        <time dateTime={p.t}>{formatTime(Date.parse(p.t), precision)}</time>
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
      series: [
        {
          label: 'Allowed',
          values: points.map((p) => p.allowed),
          color: ALLOWED_COLOR,
          fill: 'rgba(29, 78, 216, 0.10)',
        },
        {
          label: 'Rejected',
          values: points.map((p) => p.rejected),
          color: REJECTED_COLOR,
          fill: 'rgba(185, 28, 28, 0.12)',
          dash: [6, 3],
        },
      ],
    };
  }, [data]);
}

function ByRule({ usage }: { usage: Usage }) {
  return (
    <section class="panel" aria-labelledby="rules-title">
      <h2 id="rules-title">By endpoint rule</h2>
      {usage.byRule.length === 0 ? (
        <Empty>No requests in this range.</Empty>
      ) : (
        <CountsTable
          testId="by-rule"
          nameHeader="Rule"
          rows={usage.byRule.map((r) => ({
            key: r.rule,
            label: r.rule === 'default' ? 'Tier limits' : r.rule,
            allowed: r.allowed,
            rejected: r.rejected,
          }))}
        />
      )}
    </section>
  );
}

function RecentRejections({ usage, now }: { usage: Usage; now: number }) {
  return (
    <section class="panel" aria-labelledby="rejections-title">
      <h2 id="rejections-title">Recent 429s</h2>
      {usage.recentRejections.length === 0 ? (
        <Empty>No rejected requests in this range.</Empty>
      ) : (
        <div class="table-scroll">
          <table data-testid="recent-429s">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Request</th>
                <th scope="col">Limit hit</th>
              </tr>
            </thead>
            <tbody>
              {usage.recentRejections.map((r, i) => (
                <tr key={`${r.time}-${i}`}>
                  <td>
                    <time dateTime={r.time} title={formatDateTime(Date.parse(r.time))}>
                      {formatAgo(Date.parse(r.time), now)}
                    </time>
                  </td>
                  <td>
                    <code>
                      {r.method} {r.path}
                    </code>
                  </td>
                  <td>{r.window ? formatWindowId(r.window) : '–'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
