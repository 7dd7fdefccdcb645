/** Requests per second through the limiter against bypassed ones, at a fixed concurrency. */
import type { BenchWorker } from './harness';
import type { RequestSpec } from './latency';
import { percentile } from './stats';

/** Options of {@link measureThroughput}. */
export interface ThroughputOptions {
  readonly worker: BenchWorker;
  readonly limited: RequestSpec;
  readonly bypassed: RequestSpec;
  /** Requests in flight at once. */
  readonly concurrency: number;
  /** Total time, split evenly between the two sides in alternating slices. */
  readonly durationMs: number;
  /** Length of one slice; the sides alternate every slice so drift hits both alike. */
  readonly sliceMs: number;
  /** Upper bound on requests per slice, whatever the speed. */
  readonly maxPerSlice: number;
  /**
   * Unmeasured load before the first slice, half on each side [0]: what the previous cell left
   * running (its background work, a lease sized for another rate) is not charged to this one.
   */
  readonly warmupMs?: number;
}

/** One measured slice. */
export interface ThroughputSlice {
  readonly side: 'limited' | 'bypassed';
  readonly answers: number;
  readonly ms: number;
  /** CPU the worker's workerd used during the slice, ms (when the worker can tell). */
  readonly cpuMs?: number;
}

/**
 * What each side costs the worker's workerd in CPU, µs per answered request, summed over the
 * side's slices; present when the worker reports its CPU (see `BenchWorker.cpuMs`).
 */
export interface ThroughputCpu {
  readonly limitedUsPerRequest: number;
  readonly bypassedUsPerRequest: number;
  /**
   * bypassed / limited CPU per request: the share of bypassed throughput the limited side would
   * sustain if workerd's CPU alone bounded it. On a shared machine it moves between runs about
   * as much as the rates' ratio does (docs/benchmark.md): contention costs CPU too.
   */
  readonly ratio: number;
}

/** Throughput of both sides. */
export interface ThroughputResult {
  readonly limitedRps: number;
  readonly bypassedRps: number;
  /** limited / bypassed. */
  readonly ratio: number;
  /**
   * limited / bypassed within each ABBA block of four slices ({@link blockRatios}), in order,
   * and their median: each block compares the sides within about two seconds of each other.
   */
  readonly blocks: { readonly ratios: readonly number[]; readonly median: number };
  /** Limited requests that were not answered 2xx (should be 0: the key has a huge limit). */
  readonly limitedNon2xx: number;
  /** Every measured slice, in order: how far the sides moved within the cell. */
  readonly slices: readonly ThroughputSlice[];
  readonly cpu?: ThroughputCpu;
}

/** Pause after a slice before its CPU is read [20 ms]; not part of the slice's time. */
export const CPU_SETTLE_MS = 20;

/**
 * Which side slice `s` measures: bypassed, limited, limited, bypassed, and again (ABBA), so a
 * drift across the cell (the machine's other load, JIT, caches filling) weighs on both sides
 * alike; strict alternation would always give one side the earlier slice of each pair.
 */
export function sideOf(s: number): 'limited' | 'bypassed' {
  return s % 4 === 0 || s % 4 === 3 ? 'bypassed' : 'limited';
}

/**
 * limited / bypassed of each ABBA block (slices `4k .. 4k + 3`): each side's answers over its
 * two slices' time. A block with a side that answered nothing is left out.
 * @example blockRatios([b(100, 1), l(90, 1), l(90, 1), b(100, 1)]) // [0.9]
 */
export function blockRatios(slices: readonly ThroughputSlice[]): number[] {
  const ratios: number[] = [];
  for (let k = 0; k + 4 <= slices.length; k += 4) {
    const block = slices.slice(k, k + 4);
    const rate = (side: ThroughputSlice['side']) => {
      const mine = block.filter((x) => x.side === side);
      const ms = mine.reduce((t, x) => t + x.ms, 0);
      return ms > 0 ? mine.reduce((n, x) => n + x.answers, 0) / ms : 0;
    };
    const bypassed = rate('bypassed');
    const limited = rate('limited');
    if (bypassed > 0 && limited > 0) ratios.push(limited / bypassed);
  }
  return ratios;
}

/**
 * Alternates slices of bypassed and limited load (ABBA, see {@link sideOf}), each with
 * `concurrency` loops sending back to back, and divides the answers of each side by the time its
 * slices took (in-flight requests at a slice's end are waited for and counted, so the time covers
 * them).
 */
export async function measureThroughput(opts: ThroughputOptions): Promise<ThroughputResult> {
  // A whole number of ABBA blocks, so both sides get the same number of slices.
  const slices = 4 * Math.max(1, Math.round(opts.durationMs / opts.sliceMs / 4));
  const totals = { limited: { n: 0, ms: 0, cpu: 0 }, bypassed: { n: 0, ms: 0, cpu: 0 } };
  const cpuMsOf = opts.worker.cpuMs?.bind(opts.worker);
  // A process gone or unreadable leaves the cell without CPU figures, not the bench without a run.
  let cpuRead = cpuMsOf !== undefined;
  const cpuOf = async () => {
    if (!cpuRead || !cpuMsOf) return undefined;
    try {
      return await cpuMsOf();
    } catch {
      cpuRead = false;
      return undefined;
    }
  };
  const measured: ThroughputSlice[] = [];
  let limitedNon2xx = 0;
  const run = async (side: 'limited' | 'bypassed', ms: number) => {
    const spec = side === 'limited' ? opts.limited : opts.bypassed;
    const started = performance.now();
    const end = started + ms;
    let sent = 0;
    let done = 0;
    let non2xx = 0;
    const loop = async () => {
      while (performance.now() < end && sent < opts.maxPerSlice) {
        sent++;
        const response = await opts.worker.fetch(spec.path, spec);
        done++;
        if (response.status < 200 || response.status > 299) non2xx++;
      }
    };
    await Promise.all(Array.from({ length: opts.concurrency }, loop));
    return { answers: done, ms: performance.now() - started, non2xx };
  };
  const warmupMs = opts.warmupMs ?? 0;
  if (warmupMs > 0) {
    await run('bypassed', warmupMs / 2);
    await run('limited', warmupMs / 2);
  }
  for (let s = 0; s < slices; s++) {
    const side = sideOf(s);
    const cpu0 = await cpuOf();
    const slice = await run(side, opts.sliceMs);
    // Background work the slice's requests started (`waitUntil`) is charged to it, not the next.
    if (cpuRead) await new Promise((resolve) => setTimeout(resolve, CPU_SETTLE_MS));
    const cpu1 = await cpuOf();
    const cpuMs = cpu0 !== undefined && cpu1 !== undefined ? cpu1 - cpu0 : undefined;
    if (side === 'limited') limitedNon2xx += slice.non2xx;
    totals[side].n += slice.answers;
    totals[side].ms += slice.ms;
    totals[side].cpu += cpuMs ?? 0;
    measured.push({
      side,
      answers: slice.answers,
      ms: slice.ms,
      ...(cpuMs !== undefined ? { cpuMs } : {}),
    });
  }
  const rps = (t: { n: number; ms: number }) => (t.ms > 0 ? (1000 * t.n) / t.ms : 0);
  const limitedRps = rps(totals.limited);
  const bypassedRps = rps(totals.bypassed);
  const perRequest = (t: { n: number; cpu: number }) => (t.n > 0 ? (1000 * t.cpu) / t.n : 0);
  const limitedUs = perRequest(totals.limited);
  const bypassedUs = perRequest(totals.bypassed);
  return {
    limitedRps,
    bypassedRps,
    ratio: bypassedRps > 0 ? limitedRps / bypassedRps : 0,
    limitedNon2xx,
    slices: measured,
    blocks: (() => {
      const ratios = blockRatios(measured);
      const median = ratios.length
        ? percentile(
            [...ratios].sort((a, b) => a - b),
            50,
          )
        : 0;
      return { ratios, median };
    })(),
    ...(cpuRead && limitedUs > 0 && bypassedUs > 0
      ? {
          cpu: {
            limitedUsPerRequest: limitedUs,
            bypassedUsPerRequest: bypassedUs,
            ratio: bypassedUs / limitedUs,
          },
        }
      : {}),
  };
}
