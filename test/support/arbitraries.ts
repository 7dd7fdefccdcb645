/** fast-check arbitraries for windows and request traces, shared by the property tests. */
import fc from 'fast-check';
import type { Buckets } from '../../src/limiter/algorithms/sliding-window/arithmetic';
import type { WindowSpec } from '../../src/limiter/contract';

/**
 * Where generated traces start: in the future (2034; see `pinned-time.ts`: objects sweep by the
 * real clock), 572 weeks after the 1.7e12 used before, offset so bucket edges vary.
 */
export const EPOCH = 2_045_945_600_000;

/** A window length: odd sizes (bucket width rounding) and the real ones. */
export const windowMsArb = fc.oneof(
  fc.constantFrom(1_000, 5_000, 10_000, 60_000, 3_600_000, 86_400_000),
  fc.integer({ min: 1, max: 120_000 }),
);

/** One window spec with a small limit, so traces reach it often. */
export const windowSpecArb = (id = 'w'): fc.Arbitrary<WindowSpec> =>
  fc.record({ id: fc.constant(id), limit: fc.integer({ min: 1, max: 12 }), windowMs: windowMsArb });

/**
 * Sorted integer timestamps for one client: gaps mix bursts (within a few buckets) with pauses of
 * up to a window, so windows both fill and drain.
 */
export function traceArb(windowMs: number, maxLength = 120): fc.Arbitrary<number[]> {
  const gap = fc.oneof(
    fc.integer({ min: 0, max: Math.max(1, Math.ceil(windowMs / 50)) }),
    fc.integer({ min: 0, max: windowMs }),
    fc.integer({ min: 0, max: 2 * windowMs }),
  );
  return fc
    .tuple(
      fc.integer({ min: 0, max: 10 * windowMs }),
      fc.array(gap, { minLength: Math.ceil(maxLength / 3), maxLength }),
    )
    .map(([offset, gaps]) => {
      let t = EPOCH + offset;
      return gaps.map((g) => {
        t += g;
        return t;
      });
    });
}

/** A deep copy of per-window counters. */
export function cloneCounters(counters: Map<string, Buckets>): Map<string, Buckets> {
  return new Map([...counters].map(([id, buckets]) => [id, new Map(buckets)]));
}
