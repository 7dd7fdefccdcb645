/**
 * Seeded request traces for accuracy tests and benchmarks: each generator returns sorted integer
 * epoch-ms timestamps. Pure (no Workers imports) and deterministic for a given seed.
 */

/** A source of uniform numbers in `[0, 1)`. */
export type Rng = () => number;

/**
 * A small, fast, seeded PRNG (mulberry32): the same seed gives the same trace everywhere.
 * @example const rng = seededRng(42); rng(); // 0.6011...
 */
export function seededRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Parameters shared by every generator. */
export interface TraceBase {
  readonly rng: Rng;
  /** First possible timestamp, epoch ms; default 2_045_945_600_000 (2034: see DEFAULT_START). */
  readonly start?: number;
}

/**
 * In the future: traces replayed through real Durable Objects pin their times, and an object's
 * alarm at a pinned time that has passed fires at once and sweeps by the real clock.
 */
const DEFAULT_START = 2_045_945_600_000;

/**
 * Requests spread uniformly at random over `durationMs` (a Poisson-like steady client).
 * @example uniformTrace({ rng: seededRng(1), count: 120, durationMs: 60_000 })
 */
export function uniformTrace(p: TraceBase & { count: number; durationMs: number }): number[] {
  const start = p.start ?? DEFAULT_START;
  const out: number[] = [];
  for (let i = 0; i < p.count; i++) out.push(start + Math.floor(p.rng() * p.durationMs));
  return out.sort((a, b) => a - b);
}

/**
 * Bursts of `burstSize` requests, each packed into `burstSpanMs`, starting at random times over
 * `durationMs`, on top of `background` uniformly spread requests: a client that retries in storms.
 * @example burstyTrace({ rng: seededRng(2), durationMs: 600_000, bursts: 20, burstSize: 80, burstSpanMs: 2_000 })
 */
export function burstyTrace(
  p: TraceBase & {
    durationMs: number;
    bursts: number;
    burstSize: number;
    burstSpanMs: number;
    background?: number;
  },
): number[] {
  const start = p.start ?? DEFAULT_START;
  const out = uniformTrace({
    rng: p.rng,
    start,
    count: p.background ?? 0,
    durationMs: p.durationMs,
  });
  for (let b = 0; b < p.bursts; b++) {
    const at = start + Math.floor(p.rng() * Math.max(1, p.durationMs - p.burstSpanMs));
    for (let i = 0; i < p.burstSize; i++) out.push(at + Math.floor(p.rng() * p.burstSpanMs));
  }
  return out.sort((a, b) => a - b);
}

/**
 * The boundary attack on fixed-window and weighted two-window limiters. Around each of `periods`
 * window boundaries `b` (multiples of `windowMs`, three windows apart) it sends `limit` requests in
 * each of three bursts of `edgeMs`: just before `b`, just after `b` (beats a fixed window: 2x the
 * limit within a few ms) and just before `b + windowMs` (beats the weighted estimate, which assumes
 * the first burst was spread over its window: nearly 2x the limit within one window). An exact
 * limiter allows `limit` of the first two bursts together and, of the third, only those at least
 * `windowMs` after a first-burst request.
 * @example boundaryAttackTrace({ rng: seededRng(3), limit: 100, windowMs: 60_000, periods: 10 })
 */
export function boundaryAttackTrace(
  p: TraceBase & { limit: number; windowMs: number; periods: number; edgeMs?: number },
): number[] {
  const start = p.start ?? DEFAULT_START;
  const edge = Math.max(1, Math.min(p.edgeMs ?? Math.ceil(p.windowMs / 100), p.windowMs / 2));
  // First boundary strictly after `start`, aligned like the limiters' fixed windows (epoch based).
  const first = (Math.floor(start / p.windowMs) + 1) * p.windowMs;
  const out: number[] = [];
  for (let k = 0; k < p.periods; k++) {
    const boundary = first + k * 3 * p.windowMs;
    for (let i = 0; i < p.limit; i++) {
      out.push(boundary - 1 - Math.floor(p.rng() * edge));
      out.push(boundary + Math.floor(p.rng() * edge));
      out.push(boundary + p.windowMs - 1 - Math.floor(p.rng() * edge));
    }
  }
  return out.sort((a, b) => a - b);
}
