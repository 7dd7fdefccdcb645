/** Latency of limited against bypassed requests through one worker, measured as interleaved pairs. */
import type { BenchWorker, RequestOptions } from './harness';
import {
  type Overhead,
  overhead,
  type SteppedReadings,
  type Summary,
  steppedReadings,
  summarize,
} from './stats';

/** workerd's clock moves in steps of this many ms (`performance.now()` in the worker). */
export const WORKERD_CLOCK_STEP_MS = 1;
/** The in-worker bound the bar judges the Server-Timing readings against, ms. */
export const SERVER_BOUND_MS = 1;

/** One request the benchmark repeats. */
export interface RequestSpec extends RequestOptions {
  readonly path: string;
}

/** Options of {@link measureLatency}. */
export interface LatencyOptions {
  readonly worker: BenchWorker;
  readonly limited: RequestSpec;
  readonly bypassed: RequestSpec;
  /** Pairs measured and kept. */
  readonly pairs: number;
  /** Pairs sent first and discarded (JIT, caches, connections). */
  readonly warmupPairs: number;
  /** Hard stop: the cell ends here even if fewer pairs were measured. */
  readonly deadlineMs: number;
  /** Runs between the warm-up and the measured pairs (e.g. resetting Redis counters). */
  readonly afterWarmup?: () => Promise<void>;
}

/** The result of one latency cell. */
export interface LatencyResult {
  readonly limited: Summary;
  readonly bypassed: Summary;
  readonly overhead: Overhead;
  /**
   * The limiter's own time as the worker reports it (`Server-Timing: edgelimit;dur=`), for the
   * limited requests; `undefined` for workers that send no such header (@upstash/ratelimit).
   */
  readonly server?: Summary;
  /**
   * The same readings as what a clock moving in {@link WORKERD_CLOCK_STEP_MS} steps can prove
   * against {@link SERVER_BOUND_MS}: a percentile of whole steps cannot tell 0.06 ms from 1.9.
   */
  readonly serverSteps?: SteppedReadings;
  /** How many measured limited requests answered each status. */
  readonly statuses: Readonly<Record<string, number>>;
  readonly elapsedMs: number;
  /** True when the deadline cut the cell short. */
  readonly truncated: boolean;
}

/**
 * Sends `pairs` limited/bypassed pairs one request at a time, alternating which goes first so
 * neither side always follows the other; the two series are then compared side by side.
 */
export async function measureLatency(opts: LatencyOptions): Promise<LatencyResult> {
  const { worker, limited, bypassed } = opts;
  const started = performance.now();
  const deadline = started + opts.deadlineMs;
  const send = async (spec: RequestSpec) => {
    const t0 = performance.now();
    const response = await worker.fetch(spec.path, spec);
    const timing = /edgelimit;dur=([\d.]+)/.exec(response.headers.get('Server-Timing') ?? '');
    return {
      ms: performance.now() - t0,
      status: response.status,
      serverMs: timing ? Number(timing[1]) : undefined,
    };
  };
  // The warm-up may use half the cell's time at most, so a slow start still leaves pairs to keep.
  const warmupEnd = started + opts.deadlineMs / 2;
  for (let i = 0; i < opts.warmupPairs && performance.now() < warmupEnd; i++) {
    await send(limited);
    await send(bypassed);
  }
  await opts.afterWarmup?.();
  const l: number[] = [];
  const b: number[] = [];
  const server: number[] = [];
  const statuses: Record<string, number> = {};
  for (let i = 0; i < opts.pairs && performance.now() < deadline; i++) {
    const limitedFirst = i % 2 === 0;
    const first = await send(limitedFirst ? limited : bypassed);
    const second = await send(limitedFirst ? bypassed : limited);
    const [lim, byp] = limitedFirst ? [first, second] : [second, first];
    l.push(lim.ms);
    b.push(byp.ms);
    if (lim.serverMs !== undefined) server.push(lim.serverMs);
    statuses[lim.status] = (statuses[lim.status] ?? 0) + 1;
  }
  if (l.length === 0) throw new Error(`latency cell measured nothing within ${opts.deadlineMs} ms`);
  return {
    limited: summarize(l),
    bypassed: summarize(b),
    overhead: overhead(l, b),
    ...(server.length
      ? {
          server: summarize(server),
          serverSteps: steppedReadings(server, WORKERD_CLOCK_STEP_MS, SERVER_BOUND_MS),
        }
      : {}),
    statuses,
    elapsedMs: performance.now() - started,
    truncated: l.length < opts.pairs,
  };
}
