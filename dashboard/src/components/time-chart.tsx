/** A uPlot time-series chart that follows its container's width; hidden from screen readers, which get the summary and table instead. */
import { useEffect, useMemo, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { formatCount } from '../format';

/** One line on the chart. */
export interface ChartSeries {
  readonly label: string;
  readonly values: readonly (number | null)[];
  /** Stroke colour; chosen for at least 3:1 contrast against the white plot. */
  readonly color: string;
  readonly fill?: string;
  readonly dash?: readonly number[];
}

/** Props of {@link TimeChart}. */
export interface TimeChartProps {
  /** Bucket start times, ms since the epoch, oldest first. */
  readonly times: readonly number[];
  readonly series: readonly ChartSeries[];
  /** Formats y-axis ticks and legend values; default compact counts. */
  readonly formatValue?: (value: number) => string;
  readonly height?: number;
  /**
   * Dots on every value. Default only when there are few points; needed where gaps leave single
   * values that a line alone would not show.
   */
  readonly showPoints?: boolean;
  /** Counts: ticks on whole numbers only (no "2.5 requests"). Default true. */
  readonly integer?: boolean;
  /** Test hook: the chart root gets `data-testid`. */
  readonly testId?: string;
}

const AXIS = {
  stroke: '#374151',
  grid: { stroke: '#e5e7eb', width: 1 },
  ticks: { stroke: '#d1d5db', width: 1 },
  font: '12px system-ui, sans-serif',
};

/** Tick steps for counts: 1, 2, 5, 10, 20, 50, … up to 5e9. */
const INTEGER_INCREMENTS = Array.from({ length: 10 }, (_, i) => 10 ** i).flatMap((p) => [
  p,
  2 * p,
  5 * p,
]);

/** Renders the chart; data updates are applied in place so auto-refresh does not flicker. */
export function TimeChart({
  times,
  series,
  formatValue = formatCount,
  height = 240,
  integer = true,
  showPoints,
  testId,
}: TimeChartProps) {
  const container = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = series.map((s) => s.label).join('|');
  // Callers memoize `times` and `series`, so the once-a-second clock re-render costs no redraw.
  const data = useMemo<uPlot.AlignedData>(
    () => [times.map((t) => t / 1000), ...series.map((s) => s.values.map((v) => v ?? null))],
    [times, series],
  );
  const latest = useRef(data);
  latest.current = data;

  // (Re)create when the set of series changes; uPlot cannot add series to a live chart cheaply.
  useEffect(() => {
    const el = container.current;
    if (!el) return;
    const dots = showPoints ?? times.length <= 30;
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max) * 1.1] } },
      axes: [
        { ...AXIS },
        {
          ...AXIS,
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
          width: 2,
          ...(s.fill ? { fill: s.fill } : {}),
          ...(s.dash ? { dash: [...s.dash] } : {}),
          // Forced dots are larger: they may be the only mark a sparse series leaves.
          points: { show: dots, size: showPoints ? 8 : 5 },
          value: (_u: uPlot, v: number | null) => (v === null ? '–' : formatValue(v)),
        })),
      ],
      legend: { show: true, live: true },
      cursor: { drag: { x: false, y: false } },
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
  }, [shape, height, integer, showPoints]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  return <div class="chart" ref={container} aria-hidden="true" data-testid={testId} />;
}
