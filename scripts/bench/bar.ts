/** The bar the bench holds edgelimit to (docs/benchmark.md): each check with its measured number. */
import { type AccuracyRow, TRACE_NAMES, type TraceName } from './accuracy';
import type { Case, LatencyCell, ThroughputCell } from './cells';
import { percentileUnderBound, type SteppedReadings } from './stats';
import { fmt } from './tables';
import type { Missing } from './targets';

/** One line of the bar: a named check with its measured number. */
export interface BarLine {
  readonly check: string;
  readonly pass: boolean | null;
  readonly value: string;
}

/** The row of the deployed default (`CONSISTENCY = "fast"` under `LIMITER_STORE = "hybrid"`). */
export const DEFAULT_TARGET = 'hybrid-fast';

/** Scores a run against the bar; `pass: null` where the run did not measure the check. */
export function bar(
  latency: readonly LatencyCell[],
  accuracy: readonly AccuracyRow[],
  missing: readonly Missing[],
  throughput: readonly ThroughputCell[] = [],
): BarLine[] {
  const cell = (target: string, c: Case, rtt: number) =>
    latency.find((x) => x.target === target && x.case === c && x.rttMs === rtt);
  const worstP99 = (x: LatencyCell | undefined) =>
    x ? Math.max(...x.runs.map((r) => r.overhead.p99)) : undefined;
  const worstServerP99 = (x: LatencyCell | undefined) =>
    x?.runs.every((r) => r.server) ? Math.max(...x.runs.map((r) => r.server?.p99 ?? 0)) : undefined;
  // Commands as Upstash bills them: every command a script runs (INFO commandstats).
  const worstCmds = (x: LatencyCell | undefined) =>
    x ? Math.max(...x.billedPerRequest) : undefined;
  const worstRows = (x: LatencyCell | undefined) =>
    x?.doRowsPerRequest.length ? Math.max(...x.doRowsPerRequest) : undefined;
  const lines: BarLine[] = [];

  const fast = cell(DEFAULT_TARGET, 'allowed', 10);
  const fastBlocked = cell(DEFAULT_TARGET, 'blocked', 10);
  const fastP99 = worstP99(fast);
  const fastBlockedP99 = worstP99(fastBlocked);
  lines.push({
    check:
      'default (hybrid, fast): p99 overhead < 1 ms at 10 ms RTT (worst run; allowed / blocked)',
    pass:
      fastP99 === undefined || fastBlockedP99 === undefined
        ? null
        : fastP99 < 1 && fastBlockedP99 < 1,
    value: fast ? `${fmt(fastP99)} / ${fmt(fastBlockedP99)} ms` : 'n/a (no fast row)',
  });
  const fastServer = worstServerP99(fast);
  const fastServerBlocked = worstServerP99(fastBlocked);
  lines.push({
    check: 'same, measured inside the worker (Server-Timing; p99 < 1 ms on a 1 ms-step clock)',
    ...serverVerdict([fast, fastBlocked], fastServer, fastServerBlocked),
  });
  const cmds = Math.max(worstCmds(cell(DEFAULT_TARGET, 'allowed', 0)) ?? 0, worstCmds(fast) ?? 0);
  lines.push({
    check: 'default: billed Redis commands per request <= 0.05 (worst cell)',
    pass: fast ? cmds <= 0.05 : null,
    value: fast ? fmt(cmds, 3) : 'n/a',
  });
  const rows = Math.max(worstRows(cell(DEFAULT_TARGET, 'allowed', 0)) ?? 0, worstRows(fast) ?? 0);
  lines.push({
    check: 'default: Durable Object rows written per request <= 0.1 (worst cell)',
    pass: fast?.doRowsPerRequest.length ? rows <= 0.1 : null,
    value: fast ? fmt(rows, 3) : 'n/a',
  });
  lines.push(throughputLine(throughput.filter((t) => t.target === DEFAULT_TARGET)));

  const hybrid = cell('hybrid', 'allowed', 10);
  const hybridBlocked = cell('hybrid', 'blocked', 10);
  const hybridMissing = missing.find((m) => m.label === 'edgelimit hybrid');
  const p99 = worstP99(hybrid);
  const p99Blocked = worstP99(hybridBlocked);
  // Exact pays one object round trip per request; locally that is well under a millisecond.
  lines.push({
    check: 'exact (hybrid): p99 overhead < 1 ms at 10 ms RTT (allowed / blocked via L1)',
    pass: p99 === undefined || p99Blocked === undefined ? null : p99 < 1 && p99Blocked < 1,
    value: hybridMissing ? `n/a (${hybridMissing.reason})` : `${fmt(p99)} / ${fmt(p99Blocked)} ms`,
  });
  const exactCmds = Math.max(worstCmds(cell('hybrid', 'allowed', 0)) ?? 0, worstCmds(hybrid) ?? 0);
  const exactRows = Math.max(worstRows(cell('hybrid', 'allowed', 0)) ?? 0, worstRows(hybrid) ?? 0);
  lines.push({
    check: 'exact (hybrid): billed Redis commands / DO rows written per request (<= 0.05 / 0.1)',
    pass: hybrid?.doRowsPerRequest.length ? exactCmds <= 0.05 && exactRows <= 0.1 : null,
    value: hybrid ? `${fmt(exactCmds, 3)} / ${fmt(exactRows, 3)}` : 'n/a',
  });
  const exact = accuracy.filter(
    (r) =>
      r.limiter.startsWith('memory') ||
      r.limiter.includes('edgelimit') ||
      r.limiter.startsWith('redis'),
  );
  // A trace in which requests failed open (the store missed its budget on a loaded machine) says
  // nothing of the store's exactness: those pass uncounted by policy. It is shown, not judged.
  const failedOpen = (r: AccuracyRow, n: TraceName) => r.notes[n]?.['failed-open'] ?? 0;
  const judged = exact.flatMap((r) => TRACE_NAMES.map((n) => ({ r, n })));
  const leftOut = judged.filter(({ r, n }) => failedOpen(r, n) > 0);
  const overshoot = Math.max(
    0,
    // Real-clock rows count what is certain whatever the decision instant in the round trip.
    ...judged
      .filter(({ r, n }) => failedOpen(r, n) === 0)
      .map(({ r, n }) => r.traces[n]?.provableOvershoot ?? r.traces[n]?.overshoot ?? 0),
  );
  const leftOutNote = leftOut.length
    ? `; left out: ${leftOut.map(({ r, n }) => `${r.limiter} ${n} (${failedOpen(r, n)} failed open)`).join(', ')}`
    : '';
  lines.push({
    check: 'overshoot 0 in exact modes (all traces; pinned, and real time provably)',
    pass: judged.length > leftOut.length ? overshoot === 0 : null,
    value: `max ${overshoot} over the limit${leftOutNote}`,
  });
  const falseRej = Math.max(
    0,
    ...exact.flatMap((r) => TRACE_NAMES.map((n) => r.traces[n]?.falseRejectionPct ?? 0)),
  );
  const falseRejBursty = Math.max(0, ...exact.map((r) => r.traces.bursty?.falseRejectionPct ?? 0));
  lines.push({
    check: 'false rejections <= 1% (bursty traces; worst of any trace shown too)',
    pass: exact.length ? falseRejBursty <= 1 : null,
    value: `bursty ${falseRejBursty.toFixed(2)}%, any trace ${falseRej.toFixed(2)}%`,
  });
  const bestUpstashP99 = Math.min(
    ...['upstash-sw', 'upstash-sw-cache'].map(
      (id) => worstP99(cell(id, 'allowed', 10)) ?? Infinity,
    ),
  );
  const bestUpstashCmds = Math.min(
    ...['upstash-sw', 'upstash-sw-cache'].map(
      (id) => worstCmds(cell(id, 'allowed', 10)) ?? Infinity,
    ),
  );
  lines.push({
    check: 'ahead of @upstash/ratelimit: p99 overhead at 10 ms RTT (default vs its best)',
    pass:
      fastP99 === undefined || !Number.isFinite(bestUpstashP99) ? null : fastP99 < bestUpstashP99,
    value: `${fmt(fastP99)} vs ${fmt(bestUpstashP99)} ms`,
  });
  lines.push({
    check: 'ahead of @upstash/ratelimit: billed Redis commands per request (default vs its best)',
    pass: fast && Number.isFinite(bestUpstashCmds) ? cmds < bestUpstashCmds : null,
    value: `${fmt(cmds, 3)} vs ${fmt(bestUpstashCmds, 3)}`,
  });
  return lines;
}

/**
 * The in-worker check: workerd's clock moves in 1 ms steps, so a request of 0.06 ms reads 1 ms
 * when a step falls inside it (6% of requests in a run of 2026-12-03) and a p99 of the readings
 * says 1.00 whatever the real figure below 2 ms. The check passes when at least 99% of readings
 * are 0 (certainly under 1 ms), fails when more than 1% read 2 ms or more (certainly over), and
 * is `null` (cannot tell) in between; the value shows the p99 read, the shares and the mean
 * reading (an unbiased estimate of the mean). Readings finer than a step are judged as read.
 */
function serverVerdict(
  cells: readonly (LatencyCell | undefined)[],
  allowedP99: number | undefined,
  blockedP99: number | undefined,
): { pass: boolean | null; value: string } {
  if (allowedP99 === undefined || blockedP99 === undefined || !cells[0]) {
    return { pass: null, value: 'n/a' };
  }
  const readings = cells.flatMap((c) => c?.runs.map((r) => r.serverSteps) ?? []);
  const read = `p99 read ${fmt(allowedP99)} / ${fmt(blockedP99)} ms`;
  if (!readings.every((r): r is SteppedReadings => r?.stepped === true)) {
    return { pass: allowedP99 < 1 && blockedP99 < 1, value: read };
  }
  const verdicts = readings.map((r) => percentileUnderBound(r, 99));
  const pass = verdicts.includes(false) ? false : verdicts.every((v) => v === true) ? true : null;
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const worstUnder = Math.min(...readings.map((r) => r.certainlyUnder));
  const worstOver = Math.max(...readings.map((r) => r.certainlyOver));
  const mean = Math.max(...readings.map((r) => r.mean));
  return {
    pass,
    value:
      `${pass === null ? 'cannot tell at a 1 ms step: ' : ''}${read}; ` +
      `0 ms in >= ${pct(worstUnder)}, >= 2 ms in <= ${pct(worstOver)}, mean <= ${fmt(mean)} ms`,
  };
}

/**
 * Throughput >= 0.9 of bypassed, worst RTT, judged on the rates (requests per second, as the
 * goal reads), with the ratio of workerd's CPU per request (bypassed / limited) beside it where
 * every cell read it: what one workerd sustains when its CPU bounds it. On this shared machine
 * both move between runs by more than the gap between the sides (docs/benchmark.md).
 */
export function throughputLine(cells: readonly ThroughputCell[]): BarLine {
  const check = 'default: throughput >= 0.9 of bypassed (worst RTT; workerd CPU ratio beside it)';
  if (cells.length === 0) return { check, pass: null, value: 'n/a' };
  const rates = cells.map((c) => c.result.ratio);
  const cpu = cells.map((c) => c.result.cpu?.ratio);
  const cpuRead = cpu.every((r) => r !== undefined);
  return {
    check,
    pass: Math.min(...rates) >= 0.9,
    value:
      `rates ${rates.map((r) => fmt(r, 2)).join(' / ')}` +
      (cpuRead ? ` (CPU ${cpu.map((r) => fmt(r ?? 0, 2)).join(' / ')})` : ' (CPU not read)'),
  };
}
