/**
 * `npm run bench [-- --quick]`: latency overhead, throughput, Redis commands per request and
 * accuracy of every edgelimit store mode beside @upstash/ratelimit, in one run on this machine.
 * Prints aligned tables and the bar of DESIGN §9, and writes bench-results/latest.json.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  type AccuracyRow,
  pinnedAccuracy,
  pinnedLimiters,
  type RealtimeTarget,
  realtimeAccuracy,
  TRACE_NAMES,
  type TraceName,
} from './accuracy';
import {
  BENCH_SERVICE_TOKEN,
  type BenchWorker,
  bundleWorkers,
  createCustomer,
  type EdgelimitWorker,
  type RedisStack,
  ROOT,
  STORE_MODES,
  startEdgelimit,
  startRedisStack,
  startUpstashRatelimit,
  versions,
} from './harness';
import { type LatencyResult, measureLatency, type RequestSpec } from './latency';
import { drift } from './stats';
import { measureThroughput, type ThroughputResult } from './throughput';

/** How much work one run does. */
interface Profile {
  readonly name: 'full' | 'quick';
  readonly pairs: number;
  readonly warmupPairs: number;
  readonly cellDeadlineMs: number;
  /** All latency cells together; later cells get shorter deadlines when earlier ones ran long. */
  readonly latencyBudgetMs: number;
  readonly throughputMs: number;
  readonly sliceMs: number;
  /** Wait after a cell of a write-behind store so its last batch is counted in that cell. */
  readonly settleMs: number;
  readonly pinnedWindows: number;
  readonly realtimeWindows: number;
}

const PROFILES: Record<'full' | 'quick', Profile> = {
  full: {
    name: 'full',
    pairs: 2000,
    warmupPairs: 200,
    cellDeadlineMs: 40_000,
    latencyBudgetMs: 390_000,
    throughputMs: 3000,
    sliceMs: 500,
    settleMs: 2500,
    pinnedWindows: 50,
    realtimeWindows: 3,
  },
  quick: {
    name: 'quick',
    pairs: 100,
    warmupPairs: 20,
    cellDeadlineMs: 5000,
    latencyBudgetMs: 40_000,
    throughputMs: 600,
    sliceMs: 150,
    settleMs: 0,
    pinnedWindows: 10,
    realtimeWindows: 1,
  },
};

const RTTS = [0, 10] as const;
const CONCURRENCY = 16;
/** Scaled-down real-time accuracy: 10 requests per 2 s windows. */
const REALTIME = { limit: 10, windowMs: 2000, window: '2s', upstashWindow: '2 s' } as const;
/** Pinned-time accuracy: the pro tier's shape, 100 per minute. */
const PINNED = { limit: 100, windowMs: 60_000 } as const;
const HUGE_LIMIT = 1_000_000_000;

/** Something the benchmark sends requests to: one limiter configuration in one worker. */
interface Target {
  readonly id: string;
  readonly label: string;
  readonly worker: BenchWorker;
  readonly family: 'edgelimit' | 'upstash';
  /** Touches Redis on the request path, so the simulated RTT matters. */
  readonly networked: boolean;
  /** Writes behind in batches: wait `settleMs` before reading the command counter. */
  readonly writeBehind: boolean;
  /** Measure the blocked (429) case at 10 ms RTT, where an in-isolate L1 saves the round trip. */
  readonly blockedCell: boolean;
  readonly allowed: RequestSpec;
  readonly blocked: RequestSpec;
  readonly bypassed: RequestSpec;
}

/** A target that could not be built, with the reason printed as n/a. */
interface Missing {
  readonly label: string;
  readonly reason: string;
}

type Case = 'allowed' | 'blocked';

interface LatencyCell {
  readonly target: string;
  readonly label: string;
  readonly family: Target['family'];
  readonly case: Case;
  readonly rttMs: number;
  readonly runs: LatencyResult[];
  /** Redis commands per limited request, per run. */
  readonly commandsPerRequest: number[];
}

interface ThroughputCell {
  readonly target: string;
  readonly label: string;
  readonly rttMs: number;
  readonly result: ThroughputResult;
}

const PATH = '/v1/items';
const IP = { 'CF-Connecting-IP': '10.1.0.1' };

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

async function edgelimitTargets(
  started: EdgelimitWorker[],
): Promise<{ targets: Target[]; missing: Missing[] }> {
  const targets: Target[] = [];
  const missing: Missing[] = [];
  const bypassed = { path: PATH, headers: { ...IP, 'X-Service-Token': BENCH_SERVICE_TOKEN } };
  for (const e of started) {
    if (!e.available) {
      missing.push({ label: `edgelimit ${e.mode}`, reason: e.reason });
      continue;
    }
    const limits = (limit: number) => [{ limit, window: '1m' }];
    const allowedKey = await createCustomer(e.worker, `bench-${e.mode}`, {
      tier: 'enterprise',
      limits: limits(HUGE_LIMIT),
    });
    const blockedKey = await createCustomer(e.worker, `bench-${e.mode}-blocked`, {
      tier: 'enterprise',
      limits: limits(1),
    });
    if (!allowedKey || !blockedKey)
      throw new Error(`admin API refused bench customers (${e.mode})`);
    const spec = (key: string) => ({ path: PATH, headers: { ...IP, 'X-API-Key': key } });
    const networked = e.mode === 'redis' || e.mode === 'hybrid';
    const base = { worker: e.worker, family: 'edgelimit' as const, networked, bypassed };
    targets.push({
      ...base,
      id: e.mode,
      label: `edgelimit ${e.mode}`,
      writeBehind: e.mode === 'hybrid',
      blockedCell: networked,
      allowed: spec(allowedKey),
      blocked: spec(blockedKey),
    });
    if (e.mode === 'hybrid') {
      // Per-policy `consistency: "fast"`: a record field the worker refuses until it exists.
      const fastKey = await createCustomer(e.worker, 'bench-fast', {
        tier: 'enterprise',
        limits: limits(HUGE_LIMIT),
        consistency: 'fast',
      });
      const fastBlocked = await createCustomer(e.worker, 'bench-fast-blocked', {
        tier: 'enterprise',
        limits: limits(1),
        consistency: 'fast',
      });
      if (fastKey && fastBlocked) {
        targets.push({
          ...base,
          id: 'hybrid-fast',
          label: 'edgelimit hybrid fast',
          writeBehind: true,
          blockedCell: true,
          allowed: spec(fastKey),
          blocked: spec(fastBlocked),
        });
      } else {
        missing.push({
          label: 'edgelimit consistency "fast"',
          reason: 'the admin API refuses consistency: "fast" in a customer record (not built yet)',
        });
      }
    }
  }
  return { targets, missing };
}

function upstashTargets(worker: BenchWorker): Target[] {
  const spec = (variant: string, limit: number, key: string): RequestSpec => ({
    path: PATH,
    headers: {
      ...IP,
      'X-Bench-Limiter': variant,
      'X-Bench-Limit': String(limit),
      'X-Bench-Window': '60 s',
      'X-API-Key': key,
    },
  });
  const bypassed = { path: PATH, headers: { ...IP, 'X-Service-Token': BENCH_SERVICE_TOKEN } };
  return [
    ['sliding-window', 'upstash slidingWindow', 'upstash-sw'],
    ['sliding-window-cache', 'upstash slidingWindow+cache', 'upstash-sw-cache'],
  ].map(([variant = '', label = '', id = '']) => ({
    id,
    label,
    worker,
    family: 'upstash',
    networked: true,
    writeBehind: false,
    // Without its cache a blocked key costs the same round trip as an allowed one.
    blockedCell: id === 'upstash-sw-cache',
    allowed: spec(variant, HUGE_LIMIT, `bench-${id}`),
    blocked: spec(variant, 1, `bench-${id}-blocked`),
    bypassed,
  }));
}

/** The latency cells of one pass, in the order they run. */
function latencyPlan(targets: readonly Target[]): { target: Target; case: Case; rttMs: number }[] {
  const plan: { target: Target; case: Case; rttMs: number }[] = [];
  for (const rttMs of RTTS) {
    for (const target of targets) {
      if (rttMs > 0 && !target.networked) continue;
      plan.push({ target, case: 'allowed', rttMs });
      if (rttMs > 0 && target.blockedCell) plan.push({ target, case: 'blocked', rttMs });
    }
  }
  return plan;
}

async function runLatency(
  targets: readonly Target[],
  stack: RedisStack,
  profile: Profile,
): Promise<LatencyCell[]> {
  const plan = latencyPlan(targets);
  const cells = new Map<string, LatencyCell>();
  const budgetEnd = performance.now() + profile.latencyBudgetMs;
  // A cell that waits on the simulated RTT per request needs several times the time of others.
  const weight = (step: (typeof plan)[number]) =>
    step.rttMs > 0 && step.case === 'allowed' && !step.target.writeBehind ? 5 : 1;
  let weightLeft = 2 * plan.reduce((sum, step) => sum + weight(step), 0);
  for (let pass = 1; pass <= 2; pass++) {
    for (const step of plan) {
      const share = Math.max(
        1000,
        ((budgetEnd - performance.now()) * weight(step)) / Math.max(1, weightLeft),
      );
      weightLeft -= weight(step);
      const key = `${step.target.id}|${step.case}|${step.rttMs}`;
      await stack.setDelay(step.rttMs);
      const result = await measureLatency({
        worker: step.target.worker,
        limited: step.target[step.case],
        bypassed: step.target.bypassed,
        pairs: profile.pairs,
        warmupPairs: profile.warmupPairs,
        deadlineMs: Math.min(profile.cellDeadlineMs, share),
        afterWarmup: () => stack.resetStats(),
      });
      if (step.target.writeBehind) await sleepMs(profile.settleMs);
      const commands = (await stack.stats()).commands / Math.max(1, result.limited.n);
      let cell = cells.get(key);
      if (!cell) {
        cell = {
          target: step.target.id,
          label: step.target.label,
          family: step.target.family,
          case: step.case,
          rttMs: step.rttMs,
          runs: [],
          commandsPerRequest: [],
        };
        cells.set(key, cell);
      }
      cell.runs.push(result);
      cell.commandsPerRequest.push(commands);
      log(
        `  latency pass ${pass} ${step.target.label} ${step.case} rtt=${step.rttMs}ms: ` +
          `overhead p50 ${fmt(result.overhead.p50)} p99 ${fmt(result.overhead.p99)} ms, ` +
          `${fmt(commands, 3)} cmds/req, ${(result.elapsedMs / 1000).toFixed(1)} s`,
      );
    }
  }
  await stack.setDelay(0);
  return [...cells.values()];
}

async function runThroughput(
  targets: readonly Target[],
  stack: RedisStack,
  profile: Profile,
): Promise<ThroughputCell[]> {
  const cells: ThroughputCell[] = [];
  for (const rttMs of RTTS) {
    for (const target of targets) {
      if (rttMs > 0 && !target.networked) continue;
      await stack.setDelay(rttMs);
      const result = await measureThroughput({
        worker: target.worker,
        limited: target.allowed,
        bypassed: target.bypassed,
        concurrency: CONCURRENCY,
        durationMs: profile.throughputMs,
        sliceMs: profile.sliceMs,
        maxPerSlice: 100_000,
      });
      cells.push({ target: target.id, label: target.label, rttMs, result });
      log(
        `  throughput ${target.label} rtt=${rttMs}ms: ${result.limitedRps.toFixed(0)} / ` +
          `${result.bypassedRps.toFixed(0)} rps = ${fmt(result.ratio, 2)}`,
      );
    }
  }
  await stack.setDelay(0);
  return cells;
}

/** Real-time targets: edgelimit (redis, hybrid) and both @upstash/ratelimit variants. */
async function realtimeTargets(
  edgelimit: readonly Target[],
  upstash: BenchWorker,
  runId: string,
): Promise<RealtimeTarget[]> {
  const out: RealtimeTarget[] = [];
  for (const t of edgelimit) {
    if (t.id !== 'redis' && t.id !== 'hybrid') continue;
    const keys = new Map<TraceName, string>();
    for (const name of TRACE_NAMES) {
      const key = await createCustomer(t.worker, `bench-rt-${runId}-${t.id}-${name}`, {
        tier: 'enterprise',
        limits: [{ limit: REALTIME.limit, window: REALTIME.window }],
      });
      if (!key) throw new Error(`admin API refused the real-time customer (${t.id})`);
      keys.set(name, key);
      // Warm the key and customer caches and the Durable Object, so the trace measures the
      // limiter rather than a cold start; the caller waits a window so this request expires.
      await t.worker.fetch(PATH, { headers: { ...IP, 'X-API-Key': key } });
    }
    out.push({
      name: t.label,
      send: async (trace) => {
        const key = keys.get(trace) ?? 'missing-key';
        const r = await t.worker.fetch(PATH, { headers: { ...IP, 'X-API-Key': key } });
        return { status: r.status, outcome: r.headers.get('x-edgelimit-status') ?? undefined };
      },
    });
  }
  for (const [variant, name] of [
    ['sliding-window', 'upstash slidingWindow'],
    ['sliding-window-cache', 'upstash slidingWindow+cache'],
  ] as const) {
    out.push({
      name,
      send: async (trace) => {
        const r = await upstash.fetch(PATH, {
          headers: {
            ...IP,
            'X-Bench-Limiter': variant,
            'X-Bench-Limit': String(REALTIME.limit),
            'X-Bench-Window': REALTIME.upstashWindow,
            'X-API-Key': `rt-${runId}-${variant}-${trace}`,
          },
        });
        return { status: r.status };
      },
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Output

function fmt(n: number | undefined, digits = 2): string {
  return n === undefined || !Number.isFinite(n) ? 'n/a' : n.toFixed(digits);
}

/** Aligns columns: text left, numbers right. */
function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = (s: string) => /^[-+]?[\d.]+( ?[%x])?$|^[-+]?[\d.]+ \/ [-+]?[\d.]+$/.test(s);
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (numeric(c) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function latencyTable(cells: readonly LatencyCell[], missing: readonly Missing[]): string {
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

function throughputTable(cells: readonly ThroughputCell[]): string {
  return table(
    ['limiter', 'RTT', 'limited rps', 'bypass rps', 'ratio', 'non-2xx'],
    cells.map((c) => [
      c.label,
      `${c.rttMs} ms`,
      c.result.limitedRps.toFixed(0),
      c.result.bypassedRps.toFixed(0),
      fmt(c.result.ratio, 2),
      String(c.result.limitedNon2xx),
    ]),
  );
}

function accuracyTable(rows: readonly AccuracyRow[]): string {
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

/** One line of the bar: a named check with its measured number. */
interface BarLine {
  readonly check: string;
  readonly pass: boolean | null;
  readonly value: string;
}

function bar(
  latency: readonly LatencyCell[],
  accuracy: readonly AccuracyRow[],
  missing: readonly Missing[],
): BarLine[] {
  const cell = (target: string, c: Case, rtt: number) =>
    latency.find((x) => x.target === target && x.case === c && x.rttMs === rtt);
  const worstP99 = (x: LatencyCell | undefined) =>
    x ? Math.max(...x.runs.map((r) => r.overhead.p99)) : undefined;
  const worstCmds = (x: LatencyCell | undefined) =>
    x ? Math.max(...x.commandsPerRequest) : undefined;
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
    check: 'Redis commands per request, hybrid, steady state <= 0.05 (worst cell)',
    pass: hybrid ? cmds <= 0.05 : null,
    value: hybrid ? fmt(cmds, 3) : 'n/a',
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
    check: 'ahead of @upstash/ratelimit: Redis commands per request (hybrid vs its best)',
    pass: hybrid && Number.isFinite(bestUpstashCmds) ? cmds < bestUpstashCmds : null,
    value: `${fmt(cmds, 3)} vs ${fmt(bestUpstashCmds, 3)}`,
  });
  return lines;
}

const sleepMs = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string', default: 'latency,throughput,accuracy' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log('Usage: npm run bench [-- --quick]   (see docs/benchmark.md)');
    return;
  }
  const profile = PROFILES[values.quick ? 'quick' : 'full'];
  const started = performance.now();
  const v = versions();
  const runId = Date.now().toString(36);
  console.log(
    `edgelimit bench (${profile.name}) ${new Date().toISOString()}\n` +
      `cores ${cpus().length}, node ${v.node}, workerd ${v.workerd}, miniflare ${v.miniflare}\n` +
      `${profile.pairs} interleaved limited/bypassed pairs per cell after ${profile.warmupPairs} ` +
      `warm-up pairs, every cell run twice; throughput at concurrency ${CONCURRENCY}, ` +
      `${profile.throughputMs / 1000} s per cell. Times in ms.`,
  );

  const bundles = await bundleWorkers();
  const stack = await startRedisStack();
  const workers: BenchWorker[] = [];
  try {
    const edgelimit: EdgelimitWorker[] = [];
    for (const mode of STORE_MODES) {
      const e = await startEdgelimit(mode, bundles.edgelimit, stack);
      if (e.available) workers.push(e.worker);
      edgelimit.push(e);
    }
    const upstash = await startUpstashRatelimit(bundles.upstashRatelimit, stack);
    workers.push(upstash);
    const { targets: ours, missing } = await edgelimitTargets(edgelimit);
    const targets = [...ours, ...upstashTargets(upstash)];
    log(`targets: ${targets.map((t) => t.label).join(', ')}`);
    for (const m of missing) log(`n/a: ${m.label}: ${m.reason}`);

    const phases = new Set(values.only.split(',').map((p) => p.trim()));
    log('latency...');
    const latency = phases.has('latency') ? await runLatency(targets, stack, profile) : [];
    log('throughput...');
    const throughput = phases.has('throughput') ? await runThroughput(targets, stack, profile) : [];
    const accuracy: AccuracyRow[] = [];
    if (phases.has('accuracy')) {
      log('accuracy (pinned time)...');
      const redis = { url: stack.url, token: stack.token };
      accuracy.push(
        ...(await pinnedAccuracy(
          pinnedLimiters(redis, PINNED.limit, PINNED.windowMs),
          { ...PINNED, windows: profile.pinnedWindows, start: 1_700_000_000_000, seed: 7 },
          runId,
        )),
      );
      log('accuracy (real time, scaled)...');
      const rtTargets = await realtimeTargets(ours, upstash, runId);
      await sleepMs(REALTIME.windowMs + 100);
      accuracy.push(
        ...(await realtimeAccuracy(rtTargets, {
          limit: REALTIME.limit,
          windowMs: REALTIME.windowMs,
          windows: profile.realtimeWindows,
          seed: 11,
        })),
      );
    }
    const lines = bar(latency, accuracy, missing);
    const elapsedMs = performance.now() - started;

    console.log(
      '\nLatency overhead = limited minus bypassed (X-Service-Token) through the same worker.',
    );
    console.log(
      'RTT = delay the local Upstash server adds per HTTP request. memory and durable-object ' +
        'never reach Redis; local workerd has no network between the worker and its Durable ' +
        'Objects, so their 10 ms rows are n/a and production DO latency is not simulated.',
    );
    console.log(latencyTable(latency, missing));
    console.log(
      `\nThroughput (limited / bypassed requests per second, concurrency ${CONCURRENCY})`,
    );
    console.log(throughputTable(throughput));
    console.log(
      `\nAccuracy against the exact sliding log (pinned: ${PINNED.limit}/${PINNED.windowMs / 1000}s, ` +
        `store driven with CheckRequest.now; real: ${REALTIME.limit}/${REALTIME.windowMs / 1000}s ` +
        'windows through the workers, times taken at send)',
    );
    console.log(accuracyTable(accuracy));
    if (missing.length) {
      console.log('\nNot measured (n/a):');
      for (const m of missing) console.log(`  ${m.label}: ${m.reason}`);
    }
    console.log('\nThe bar (DESIGN §9)');
    console.log(
      table(
        ['', 'check', 'measured'],
        lines.map((l) => [l.pass === null ? 'N/A ' : l.pass ? 'PASS' : 'FAIL', l.check, l.value]),
      ),
    );
    console.log(`\nelapsed ${(elapsedMs / 1000).toFixed(1)} s`);

    const dir = join(ROOT, 'bench-results');
    await mkdir(dir, { recursive: true });
    await writeFile(
      join(dir, 'latest.json'),
      `${JSON.stringify(
        {
          meta: {
            date: new Date().toISOString(),
            profile,
            cores: cpus().length,
            ...v,
            concurrency: CONCURRENCY,
            elapsedMs,
          },
          missing,
          latency,
          throughput,
          accuracy,
          bar: lines,
        },
        null,
        2,
      )}\n`,
    );
    console.log(`results written to bench-results/latest.json`);
  } finally {
    for (const w of workers) await w.dispose().catch(() => {});
    await stack.stop();
    await bundles.cleanup();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
