/**
 * `npm run bench [-- --quick]`: latency overhead, throughput, Redis commands per request and
 * accuracy of every edgelimit store mode beside @upstash/ratelimit, in one run on this machine.
 * Prints aligned tables and the bar (bar.ts, docs/benchmark.md), writes bench-results/latest.json.
 * Profiles, targets, tables and the bar each have their own module.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type AccuracyRow, pinnedAccuracy, pinnedLimiters, realtimeAccuracy } from './accuracy';
import { bar, DEFAULT_TARGET } from './bar';
import type { Case, LatencyCell, ThroughputCell } from './cells';
import {
  type BenchWorker,
  bundleWorkers,
  type EdgelimitWorker,
  type RedisStack,
  ROOT,
  readDoStats,
  STORE_MODES,
  startEdgelimit,
  startRedisStack,
  startUpstashRatelimit,
  versions,
} from './harness';
import { measureLatency } from './latency';
import { CONCURRENCY, PINNED, PROFILES, type Profile, REALTIME, RTTS } from './profiles';
import { accuracyTable, billingTable, fmt, latencyTable, table, throughputTable } from './tables';
import { edgelimitTargets, realtimeTargets, type Target, upstashTargets } from './targets';
import { measureThroughput } from './throughput';

function log(message: string): void {
  process.stderr.write(`${message}\n`);
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
        afterWarmup: async () => {
          await stack.resetStats();
          if (step.target.family === 'edgelimit') await readDoStats(step.target.worker, true);
        },
      });
      if (step.target.writeBehind) await sleepMs(profile.settleMs);
      const n = Math.max(1, result.limited.n);
      const stats = await stack.stats();
      const commands = stats.commands / n;
      const billed = stats.billed / n;
      const objects =
        step.target.family === 'edgelimit' ? await readDoStats(step.target.worker) : undefined;
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
          billedPerRequest: [],
          doRequestsPerRequest: [],
          doRowsPerRequest: [],
        };
        cells.set(key, cell);
      }
      cell.runs.push(result);
      cell.commandsPerRequest.push(commands);
      cell.billedPerRequest.push(billed);
      if (objects) {
        cell.doRequestsPerRequest.push(objects.requests / n);
        cell.doRowsPerRequest.push(objects.rowsWritten / n);
      }
      log(
        `  latency pass ${pass} ${step.target.label} ${step.case} rtt=${step.rttMs}ms: ` +
          `overhead p50 ${fmt(result.overhead.p50)} p99 ${fmt(result.overhead.p99)} ms, ` +
          `${fmt(commands, 3)} cmds/req (${fmt(billed, 3)} billed), ` +
          `${objects ? fmt(objects.rowsWritten / n, 3) : '-'} DO rows/req, ` +
          `${(result.elapsedMs / 1000).toFixed(1)} s`,
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
        durationMs:
          profile.throughputMs *
          (target.id === DEFAULT_TARGET ? profile.defaultThroughputFactor : 1),
        sliceMs: profile.sliceMs,
        warmupMs: profile.throughputWarmupMs,
        maxPerSlice: 100_000,
      });
      cells.push({ target: target.id, label: target.label, rttMs, result });
      log(
        `  throughput ${target.label} rtt=${rttMs}ms: ${result.limitedRps.toFixed(0)} / ` +
          `${result.bypassedRps.toFixed(0)} rps = ${fmt(result.ratio, 2)}` +
          ` (median of ${result.blocks.ratios.length} ABBA blocks ${fmt(result.blocks.median, 2)})` +
          (result.cpu
            ? `; workerd CPU ${result.cpu.limitedUsPerRequest.toFixed(0)} / ` +
              `${result.cpu.bypassedUsPerRequest.toFixed(0)} µs/req = ${fmt(result.cpu.ratio, 2)}`
            : '') +
          ' (slices ' +
          result.slices
            .map((s) => `${s.side[0]}${((1000 * s.answers) / s.ms).toFixed(0)}`)
            .join(' ') +
          ')',
      );
    }
  }
  await stack.setDelay(0);
  return cells;
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
      `${profile.throughputMs / 1000} s per cell (the default's: ` +
      `${(profile.throughputMs * profile.defaultThroughputFactor) / 1000} s) after ` +
      `${profile.throughputWarmupMs / 1000} s of warm-up. Times in ms.`,
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
          { ...PINNED, windows: profile.pinnedWindows, start: 2_045_945_600_000, seed: 7 },
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
    const lines = bar(latency, accuracy, missing, throughput);
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
      '\nBilled per limited request (Redis from INFO commandstats on the redis-server, script ' +
        'commands included; Durable Object requests and rows written counted inside the object; ' +
        'list prices of scripts/lib/list-prices.ts)',
    );
    console.log(billingTable(latency));
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
    console.log('\nThe bar (docs/benchmark.md)');
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
