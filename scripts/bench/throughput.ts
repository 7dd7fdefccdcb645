/** Requests per second through the limiter against bypassed ones, at a fixed concurrency. */
import type { BenchWorker } from './harness';
import type { RequestSpec } from './latency';

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
}

/** Throughput of both sides. */
export interface ThroughputResult {
  readonly limitedRps: number;
  readonly bypassedRps: number;
  /** limited / bypassed. */
  readonly ratio: number;
  /** Limited requests that were not answered 2xx (should be 0: the key has a huge limit). */
  readonly limitedNon2xx: number;
}

/**
 * Alternates slices of bypassed and limited load, each with `concurrency` loops sending back to
 * back, and divides the answers of each side by the time its slices took (in-flight requests at a
 * slice's end are waited for and counted, so the time covers them).
 */
export async function measureThroughput(opts: ThroughputOptions): Promise<ThroughputResult> {
  const slices = Math.max(2, Math.round(opts.durationMs / opts.sliceMs));
  const totals = { limited: { n: 0, ms: 0 }, bypassed: { n: 0, ms: 0 } };
  let limitedNon2xx = 0;
  for (let s = 0; s < slices; s++) {
    const side = s % 2 === 0 ? 'bypassed' : 'limited';
    const spec = side === 'limited' ? opts.limited : opts.bypassed;
    const started = performance.now();
    const end = started + opts.sliceMs;
    let sent = 0;
    let done = 0;
    const loop = async () => {
      while (performance.now() < end && sent < opts.maxPerSlice) {
        sent++;
        const response = await opts.worker.fetch(spec.path, spec);
        done++;
        if (side === 'limited' && (response.status < 200 || response.status > 299)) {
          limitedNon2xx++;
        }
      }
    };
    await Promise.all(Array.from({ length: opts.concurrency }, loop));
    totals[side].n += done;
    totals[side].ms += performance.now() - started;
  }
  const rps = (t: { n: number; ms: number }) => (t.ms > 0 ? (1000 * t.n) / t.ms : 0);
  const limitedRps = rps(totals.limited);
  const bypassedRps = rps(totals.bypassed);
  return {
    limitedRps,
    bypassedRps,
    ratio: bypassedRps > 0 ? limitedRps / bypassedRps : 0,
    limitedNon2xx,
  };
}
