/** The bar the bench holds edgelimit to (docs/benchmark.md): each check with its measured number. */
import { type AccuracyRow, TRACE_NAMES } from './accuracy';
import type { Case, LatencyCell } from './cells';
import { fmt } from './tables';
import type { Missing } from './targets';

/** One line of the bar: a named check with its measured number. */
export interface BarLine {
  readonly check: string;
  readonly pass: boolean | null;
  readonly value: string;
}

/** Scores a run against the bar; `pass: null` where the run did not measure the check. */
export function bar(
  latency: readonly LatencyCell[],
  accuracy: readonly AccuracyRow[],
  missing: readonly Missing[],
): BarLine[] {
  const cell = (target: string, c: Case, rtt: number) =>
    latency.find((x) => x.target === target && x.case === c && x.rttMs === rtt);
  const worstP99 = (x: LatencyCell | undefined) =>
    x ? Math.max(...x.runs.map((r) => r.overhead.p99)) : undefined;
  // Commands as Upstash bills them: every command a script runs (INFO commandstats).
  const worstCmds = (x: LatencyCell | undefined) =>
    x ? Math.max(...x.billedPerRequest) : undefined;
  const worstRows = (x: LatencyCell | undefined) =>
    x?.doRowsPerRequest.length ? Math.max(...x.doRowsPerRequest) : undefined;
  const lines: BarLine[] = [];
  const hybrid = cell('hybrid', 'allowed', 10);
  const hybridBlocked = cell('hybrid', 'blocked', 10);
  const hybridMissing = missing.find((m) => m.label === 'edgelimit hybrid');
  const p99 = worstP99(hybrid);
  const p99Blocked = worstP99(hybridBlocked);
  lines.push({
    check: 'p99 overhead < 1 ms, hybrid, 10 ms RTT (worst run; allowed / blocked via L1)',
    pass: p99 === undefined || p99Blocked === undefined ? null : p99 < 1 && p99Blocked < 1,
    value: hybridMissing ? `n/a (${hybridMissing.reason})` : `${fmt(p99)} / ${fmt(p99Blocked)} ms`,
  });
  const worstServerP99 = (x: LatencyCell | undefined) =>
    x?.runs.every((r) => r.server) ? Math.max(...x.runs.map((r) => r.server?.p99 ?? 0)) : undefined;
  const serverP99 = worstServerP99(hybrid);
  const serverP99Blocked = worstServerP99(hybridBlocked);
  lines.push({
    check: 'same, measured inside the worker (Server-Timing; allowed / blocked via L1)',
    pass:
      serverP99 === undefined || serverP99Blocked === undefined
        ? null
        : serverP99 < 1 && serverP99Blocked < 1,
    value: hybrid ? `${fmt(serverP99)} / ${fmt(serverP99Blocked)} ms` : 'n/a',
  });
  const fast = cell('hybrid-fast', 'allowed', 10);
  const fastP99 = worstP99(fast);
  const fastBlockedP99 = worstP99(cell('hybrid-fast', 'blocked', 10));
  lines.push({
    check: 'same, consistency "fast" under hybrid (allowed / blocked)',
    pass:
      fastP99 === undefined || fastBlockedP99 === undefined
        ? null
        : fastP99 < 1 && fastBlockedP99 < 1,
    value: fast ? `${fmt(fastP99)} / ${fmt(fastBlockedP99)} ms` : 'n/a (no fast mode)',
  });
  const fastServer = worstServerP99(fast);
  const fastServerBlocked = worstServerP99(cell('hybrid-fast', 'blocked', 10));
  lines.push({
    check: 'same, consistency "fast", measured inside the worker (Server-Timing)',
    pass:
      fastServer === undefined || fastServerBlocked === undefined
        ? null
        : fastServer < 1 && fastServerBlocked < 1,
    value: fast ? `${fmt(fastServer)} / ${fmt(fastServerBlocked)} ms` : 'n/a',
  });
  const cmds = Math.max(worstCmds(cell('hybrid', 'allowed', 0)) ?? 0, worstCmds(hybrid) ?? 0);
  lines.push({
    check: 'billed Redis commands per request, hybrid, steady state <= 0.05 (worst cell)',
    pass: hybrid ? cmds <= 0.05 : null,
    value: hybrid ? fmt(cmds, 3) : 'n/a',
  });
  const rows = Math.max(worstRows(cell('hybrid', 'allowed', 0)) ?? 0, worstRows(hybrid) ?? 0);
  lines.push({
    check: 'Durable Object rows written per request, hybrid <= 0.1 (worst cell)',
    pass: hybrid?.doRowsPerRequest.length ? rows <= 0.1 : null,
    value: hybrid ? fmt(rows, 3) : 'n/a',
  });
  const exact = accuracy.filter(
    (r) =>
      r.limiter.startsWith('memory') ||
      r.limiter.includes('edgelimit') ||
      r.limiter.startsWith('redis'),
  );
  const overshoot = Math.max(
    0,
    // Real-clock rows count what is certain whatever the decision instant in the round trip.
    ...exact.flatMap((r) =>
      TRACE_NAMES.map((n) => r.traces[n]?.provableOvershoot ?? r.traces[n]?.overshoot ?? 0),
    ),
  );
  lines.push({
    check: 'overshoot 0 in exact modes (all traces; pinned, and real time provably)',
    pass: exact.length ? overshoot === 0 : null,
    value: `max ${overshoot} over the limit`,
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
    check: 'ahead of @upstash/ratelimit: p99 overhead at 10 ms RTT (hybrid vs its best)',
    pass: p99 === undefined || !Number.isFinite(bestUpstashP99) ? null : p99 < bestUpstashP99,
    value: `${fmt(p99)} vs ${fmt(bestUpstashP99)} ms`,
  });
  lines.push({
    check: 'ahead of @upstash/ratelimit: billed Redis commands per request (hybrid vs its best)',
    pass: hybrid && Number.isFinite(bestUpstashCmds) ? cmds < bestUpstashCmds : null,
    value: `${fmt(cmds, 3)} vs ${fmt(bestUpstashCmds, 3)}`,
  });
  return lines;
}
