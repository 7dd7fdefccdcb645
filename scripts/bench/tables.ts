/** The bench's output tables: latency, throughput and accuracy, aligned for a terminal. */

import { costPerMillion } from '../lib/list-prices';
import { type AccuracyRow, TRACE_NAMES } from './accuracy';
import type { LatencyCell, ThroughputCell } from './cells';
import type { LatencyResult } from './latency';
import { drift } from './stats';
import type { Missing } from './targets';

/** A number with `digits` decimals, `n/a` when there is none. */
export function fmt(n: number | undefined, digits = 2): string {
  return n === undefined || !Number.isFinite(n) ? 'n/a' : n.toFixed(digits);
}

/** Aligns columns: text left, numbers right. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = (s: string) => /^[-+]?[\d.]+( ?[%x])?$|^[-+]?[\d.]+ \/ [-+]?[\d.]+$/.test(s);
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (numeric(c) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Latency overhead per cell, both runs side by side. */
export function latencyTable(cells: readonly LatencyCell[], missing: readonly Missing[]): string {
  const rows = cells.map((c) => {
    const [a, b] = c.runs;
    const mean = (f: (r: LatencyResult) => number) =>
      c.runs.reduce((s, r) => s + f(r), 0) / Math.max(1, c.runs.length);
    const statuses: Record<string, number> = {};
    for (const r of c.runs)
      for (const [s, n] of Object.entries(r.statuses)) statuses[s] = (statuses[s] ?? 0) + n;
    const total = Object.values(statuses).reduce((s, n) => s + n, 0);
    const answers = Object.entries(statuses)
      .map(([s, n]) => `${s}:${((100 * n) / Math.max(1, total)).toFixed(0)}%`)
      .join(' ');
    return [
      c.label,
      c.case,
      `${c.rttMs} ms`,
      String(a?.limited.n ?? 0),
      `${fmt(mean((r) => r.bypassed.p50))} / ${fmt(mean((r) => r.bypassed.p99))}`,
      `${fmt(mean((r) => r.limited.p50))} / ${fmt(mean((r) => r.limited.p99))}`,
      `${fmt(a?.overhead.p50)} / ${fmt(b?.overhead.p50)}`,
      `${fmt(a?.overhead.p99)} / ${fmt(b?.overhead.p99)}`,
      a && b ? fmt(drift(a.overhead.p99, b.overhead.p99)) : 'n/a',
      fmt(a?.overhead.pairedP50),
      a?.server && b?.server
        ? `${fmt(Math.max(a.server.p50, b.server.p50))} / ${fmt(Math.max(a.server.p99, b.server.p99))}`
        : 'n/a',
      c.commandsPerRequest.map((x) => fmt(x, 3)).join(' / '),
      answers,
    ];
  });
  for (const m of missing) {
    rows.push([
      m.label,
      '-',
      '-',
      '0',
      'n/a',
      'n/a',
      'n/a',
      'n/a',
      'n/a',
      'n/a',
      'n/a',
      'n/a',
      'n/a',
    ]);
  }
  return table(
    [
      'limiter',
      'case',
      'RTT',
      'pairs',
      'bypass p50/p99',
      'limited p50/p99',
      'ovh p50 run1/2',
      'ovh p99 run1/2',
      'p99 moved',
      'paired p50',
      'in-worker p50/p99',
      'redis cmd/req 1/2',
      'limited answers',
    ],
    rows,
  );
}

/** The worse of a cell's runs for a per-request figure, `undefined` when it was not counted. */
export function worst(values: readonly number[]): number | undefined {
  return values.length ? Math.max(...values) : undefined;
}

/**
 * What each limited request is billed, per latency cell: Redis commands as the Upstash server
 * received them and as Upstash bills them (INFO commandstats, commands run inside scripts
 * included), Durable Object requests and rows written, and the cost at list price
 * (scripts/lib/list-prices.ts; Durable Object duration is not measured here, see npm run sim).
 */
export function billingTable(cells: readonly LatencyCell[]): string {
  return table(
    [
      'limiter',
      'case',
      'RTT',
      'redis HTTP cmd/req',
      'redis billed/req 1/2',
      'DO req/req',
      'DO rows/req',
      'store $/M',
      'total $/M',
    ],
    cells.map((c) => {
      const billed = worst(c.billedPerRequest) ?? 0;
      const doRequests = worst(c.doRequestsPerRequest);
      const doRows = worst(c.doRowsPerRequest);
      const cost = costPerMillion({
        redisCommands: billed,
        doRequests: doRequests ?? 0,
        doRowsWritten: doRows ?? 0,
        kvReads: 0,
      });
      return [
        c.label,
        c.case,
        `${c.rttMs} ms`,
        fmt(worst(c.commandsPerRequest), 3),
        c.billedPerRequest.map((x) => fmt(x, 3)).join(' / '),
        doRequests === undefined ? '-' : fmt(doRequests, 3),
        doRows === undefined ? '-' : fmt(doRows, 3),
        fmt(cost.store, 3),
        fmt(cost.total, 3),
      ];
    }),
  );
}

/** Limited against bypassed requests per second. */
export function throughputTable(cells: readonly ThroughputCell[]): string {
  return table(
    [
      'limiter',
      'RTT',
      'limited rps',
      'bypass rps',
      'ratio',
      'CPU µs/req limited / bypass',
      'CPU ratio',
      'non-2xx',
    ],
    cells.map((c) => [
      c.label,
      `${c.rttMs} ms`,
      c.result.limitedRps.toFixed(0),
      c.result.bypassedRps.toFixed(0),
      fmt(c.result.ratio, 2),
      c.result.cpu
        ? `${c.result.cpu.limitedUsPerRequest.toFixed(0)} / ${c.result.cpu.bypassedUsPerRequest.toFixed(0)}`
        : 'n/a',
      c.result.cpu ? fmt(c.result.cpu.ratio, 2) : 'n/a',
      String(c.result.limitedNon2xx),
    ]),
  );
}

/** Every limiter and trace against the exact sliding log. */
export function accuracyTable(rows: readonly AccuracyRow[]): string {
  const out: string[][] = [];
  for (const r of rows) {
    for (const name of TRACE_NAMES) {
      const s = r.traces[name];
      if (!s) continue;
      out.push([
        r.limiter,
        r.clock,
        `${r.limit}/${r.windowMs / 1000}s`,
        name,
        String(s.requests),
        String(s.allowed),
        String(s.exactAllowed),
        String(s.overshoot),
        s.provableOvershoot === undefined ? '-' : String(s.provableOvershoot),
        String(s.overLimit),
        `${s.falseRejectionPct.toFixed(2)}%`,
        `${s.unjustRejectionPct.toFixed(2)}%`,
        Object.entries(r.notes[name] ?? {})
          .map(([status, n]) => `${status}:${n}`)
          .join(' ') || '0',
      ]);
    }
  }
  return table(
    [
      'limiter',
      'clock',
      'limit',
      'trace',
      'requests',
      'allowed',
      'exact',
      'overshoot',
      'provable',
      'over-limit',
      'false rej.',
      'unjust rej.',
      'notes',
    ],
    out,
  );
}
