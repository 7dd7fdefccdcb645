/**
 * A uPlot chart of counts per interval: bars or steps (one mark per interval, never a line
 * between bucket counts), the current interval hatched as partial, an optional limit line,
 * labelled axes, one time format with the timezone, and a legend that shows values at rest.
 * The canvas is hidden from screen readers, which get the summary and table instead.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { formatBucket, formatCount, timeZoneLabel } from '../format';

/** One series on the chart. */
export interface ChartSeries {
  readonly label: string;
  /** Values per interval, shown in the legend. */
  readonly values: readonly (number | null)[];
  /** What is drawn, when it differs from `values` (stacked bars draw running totals). */
  readonly drawn?: readonly (number | null)[];
  /** Stroke colour; chosen for at least 3:1 contrast against the white plot. */
  readonly color: string;
  readonly fill?: string;
  readonly dash?: readonly number[];
}

/** How each interval is drawn. */
export type ChartStyle = 'bars' | 'steps' | 'points';

/** Props of {@link TimeChart}. */
export interface TimeChartProps {
  /** Interval start times, ms since the epoch, oldest first. */
  readonly times: readonly number[];
  readonly series: readonly ChartSeries[];
  /** Length of one interval in ms (a minute, an hour, a day). */
  readonly intervalMs: number;
  /** The current time: the interval that contains it is still filling (partial). */
  readonly now: number;
  /** The y axis label, with its unit: "Requests per minute". */
  readonly yLabel: string;
  readonly style?: ChartStyle;
  /** A horizontal reference line, e.g. the limit of the window this resolution matches. */
  readonly limit?: { readonly value: number; readonly label: string };
  /** The y axis reaches at least this (so a p99 reported beside the chart is on it). */
  readonly atLeast?: number;
  /** Formats y-axis ticks and legend values; default compact counts. */
  readonly formatValue?: (value: number) => string;
  readonly height?: number;
  /** Counts: ticks on whole numbers only (no "2.5 requests"). Default true. */
  readonly integer?: boolean;
  /** Test hook: the chart root gets `data-testid`, the legend `<testId>-legend`. */
  readonly testId?: string;
}

const AXIS = {
  stroke: '#374151',
  grid: { stroke: '#e5e7eb', width: 1 },
  ticks: { stroke: '#d1d5db', width: 1 },
  font: '12px system-ui, sans-serif',
  labelFont: '600 12px system-ui, sans-serif',
};

/** Tick steps for counts: 1, 2, 5, 10, 20, 50, … up to 5e9. */
const INTEGER_INCREMENTS = Array.from({ length: 10 }, (_, i) => 10 ** i).flatMap((p) => [
  p,
  2 * p,
  5 * p,
]);

const LIMIT_COLOR = '#92400e';
const PARTIAL_LABEL = 'so far';

/** True when the interval starting at `t` has not ended at `now`. */
export function isPartial(t: number, intervalMs: number, now: number): boolean {
  return now < t + intervalMs;
}

/** Renders the chart; data updates are applied in place so auto-refresh does not flicker. */
export function TimeChart(props: TimeChartProps) {
  const {
    times,
    series,
    intervalMs,
    now,
    yLabel,
    style = 'bars',
    limit,
    atLeast = 0,
    formatValue = formatCount,
    height = 240,
    integer = true,
    testId,
  } = props;
  const container = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const [hover, setHover] = useState<number | null>(null);
  const shape = `${series.map((s) => s.label).join('|')}:${style}:${intervalMs}`;
  // Callers memoize `times` and `series`, so the once-a-second clock re-render costs no redraw.
  const data = useMemo<uPlot.AlignedData>(() => {
    const xs = times.map((t) => t / 1000);
    const ys = series.map((s) => (s.drawn ?? s.values).map((v) => v ?? null));
    const end = times.at(-1);
    if (style === 'steps' && end !== undefined) {
      // A step holds its value until the next point: one more point closes the last interval.
      xs.push((end + intervalMs) / 1000);
      for (const y of ys) y.push(y.at(-1) ?? null);
    }
    return [xs, ...ys];
  }, [times, series, style, intervalMs]);
  const last = times.length - 1;
  const lastStart = times[last] ?? 0;
  const partial = last >= 0 && isPartial(lastStart, intervalMs, now);
  // What the draw hook needs, read at draw time so a refresh does not rebuild the chart.
  const overlay = useRef({ limit, partial, lastStart, atLeast });
  overlay.current = { limit, partial, lastStart, atLeast };
  const latest = useRef(data);
  latest.current = data;

  useEffect(() => {
    const el = container.current;
    if (!el) return;
    const intervalS = intervalMs / 1000;
    const paths =
      style === 'bars'
        ? uPlot.paths.bars?.({ size: [0.85, 64], align: 1 })
        : style === 'steps'
          ? uPlot.paths.stepped?.({ align: 1 })
          : undefined;
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      scales: {
        x: {
          time: true,
          // One interval of room after the last start, so the last bar has its full width.
          range: (_u, min, max) => [min, max + intervalS],
        },
        y: {
          range: (_u, _min, max) => {
            const o = overlay.current;
            const top = Math.max(1, max, o.limit?.value ?? 0, o.atLeast);
            return [0, top * 1.12];
          },
        },
      },
      axes: [
        {
          ...AXIS,
          label: `Time (${timeZoneLabel(now)})`,
          labelSize: 20,
          space: 90,
          values: (_u, ticks) => ticks.map((s) => formatBucket(s * 1000, intervalMs)),
        },
        {
          ...AXIS,
          label: yLabel,
          labelSize: 20,
          size: 56,
          ...(integer ? { incrs: INTEGER_INCREMENTS } : {}),
          values: (_u, ticks) => ticks.map((v) => formatValue(v)),
        },
      ],
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          // Bars are filled only: a stroke would draw a line along the axis for every empty interval.
          width: style === 'bars' ? 0 : 2,
          fill: s.fill ?? (style === 'bars' ? s.color : undefined),
          ...(paths ? { paths } : {}),
          ...(s.dash ? { dash: [...s.dash] } : {}),
          points: { show: style === 'points', size: 7 },
        })),
      ],
      legend: { show: false },
      cursor: { drag: { x: false, y: false }, points: { show: style !== 'bars' } },
      hooks: {
        setCursor: [(u) => setHover(u.cursor.idx ?? null)],
        // The y axis top, for tests (the ticks themselves are drawn on the canvas).
        setScale: [
          (u, key) => {
            if (key === 'y') el.dataset.yMax = String(u.scales.y?.max ?? '');
          },
        ],
        draw: [(u) => drawOverlay(u, overlay.current, intervalS)],
      },
    };
    const chart = new uPlot(opts, latest.current, el);
    plot.current = chart;
    const resize = new ResizeObserver(() => {
      chart.setSize({ width: Math.max(200, el.clientWidth), height });
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      chart.destroy();
      plot.current = null;
    };
  }, [shape, height, integer, yLabel]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);
  useEffect(() => {
    plot.current?.redraw(false, false);
  }, [limit?.value, partial, atLeast]);

  // At rest the legend shows the latest interval (marked when it is still filling).
  const idx = hover !== null && hover >= 0 && hover <= last ? hover : last;
  const at = times[idx];
  return (
    <div class="chart-wrap">
      <div
        class="chart"
        ref={container}
        aria-hidden="true"
        data-testid={testId}
        data-x-label={`Time (${timeZoneLabel(now)})`}
        data-y-label={yLabel}
      />
      {at !== undefined ? (
        <p class="chart-legend" data-testid={testId ? `${testId}-legend` : undefined}>
          <span class="legend-time">
            {formatBucket(at, intervalMs)}
            {idx === last && partial ? ` (${PARTIAL_LABEL})` : ''}
          </span>
          {series.map((s) => {
            const v = s.values[idx];
            return (
              <span class="legend-item" key={s.label}>
                <span class="legend-swatch" style={{ background: s.color }} aria-hidden="true" />
                {s.label}: <strong>{v === null || v === undefined ? '–' : formatValue(v)}</strong>
              </span>
            );
          })}
          {limit ? (
            <span class="legend-item">
              <span class="legend-swatch legend-limit" aria-hidden="true" />
              {limit.label}
            </span>
          ) : null}
        </p>
      ) : null}
    </div>
  );
}

/** Hatches the partial interval and draws the limit line, on top of the series. */
function drawOverlay(
  u: uPlot,
  o: { limit?: { value: number; label: string }; partial: boolean; lastStart: number },
  intervalS: number,
): void {
  const { ctx, bbox } = u;
  ctx.save();
  ctx.beginPath();
  ctx.rect(bbox.left, bbox.top, bbox.width, bbox.height);
  ctx.clip();
  if (o.partial) {
    const x0 = u.valToPos(o.lastStart / 1000, 'x', true);
    const x1 = u.valToPos(o.lastStart / 1000 + intervalS, 'x', true);
    ctx.save();
    ctx.beginPath();
    ctx.rect(x0, bbox.top, x1 - x0, bbox.height);
    ctx.clip();
    ctx.fillStyle = 'rgba(107, 114, 128, 0.10)';
    ctx.fillRect(x0, bbox.top, x1 - x0, bbox.height);
    ctx.strokeStyle = 'rgba(107, 114, 128, 0.45)';
    ctx.lineWidth = 1;
    const step = 8 * devicePixelRatio;
    for (let x = x0 - bbox.height; x < x1; x += step) {
      ctx.beginPath();
      ctx.moveTo(x, bbox.top + bbox.height);
      ctx.lineTo(x + bbox.height, bbox.top);
      ctx.stroke();
    }
    ctx.restore();
  }
  if (o.limit) {
    const y = u.valToPos(o.limit.value, 'y', true);
    ctx.strokeStyle = LIMIT_COLOR;
    ctx.lineWidth = 2 * devicePixelRatio;
    ctx.setLineDash([8 * devicePixelRatio, 4 * devicePixelRatio]);
    ctx.beginPath();
    ctx.moveTo(bbox.left, y);
    ctx.lineTo(bbox.left + bbox.width, y);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = LIMIT_COLOR;
    ctx.font = `600 ${12 * devicePixelRatio}px system-ui, sans-serif`;
    ctx.textAlign = 'left';
    ctx.textBaseline = 'bottom';
    ctx.fillText(o.limit.label, bbox.left + 6 * devicePixelRatio, y - 3 * devicePixelRatio);
  }
  if (o.partial) {
    const x0 = u.valToPos(o.lastStart / 1000, 'x', true);
    ctx.fillStyle = '#374151';
    ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'top';
    ctx.fillText(PARTIAL_LABEL, Math.max(bbox.left + 40, x0 - 3), bbox.top + 3 * devicePixelRatio);
  }
  ctx.restore();
}
