/** The bucketed sliding window against the exact sliding log: examples and properties. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exactSlidingLog } from '../../../scripts/lib/exact-log';
import {
  type Buckets,
  bucketExpiry,
  bucketWidth,
  checkAll,
  currentBucket,
  oldestBucket,
  prune,
} from '../../../src/limiter/algorithms/sliding-window/arithmetic';
import { windowKey } from '../../../src/limiter/algorithms/sliding-window/keys';
import {
  coarsenWindow,
  windowExpiresAt,
} from '../../../src/limiter/algorithms/sliding-window/snapshot';
import type { WindowSpec } from '../../../src/limiter/contract';
import { cloneCounters, traceArb, windowMsArb, windowSpecArb } from '../../support/arbitraries';
import { PINNED_T0 } from '../../support/pinned-time';

const EPOCH_MS = PINNED_T0;

/** Runs one check of a single window and returns its outcome. */
function checkOne(spec: WindowSpec, counters: Map<string, Buckets>, t: number, cost = 1) {
  return checkAll([spec], counters, t, cost);
}

describe('bucket arithmetic', () => {
  it('keeps limits up to 1000 exact (1 ms buckets) and splits larger ones into 1000 buckets', () => {
    expect(bucketWidth(86_400_000, 1000)).toBe(1);
    expect(bucketWidth(60_000, 100)).toBe(1);
    expect(bucketWidth(60_000, 1001)).toBe(60);
    expect(bucketWidth(86_400_000, 5000)).toBe(86_400);
    expect(bucketWidth(5_000, 10_000)).toBe(5);
    expect(bucketWidth(150, 2000)).toBe(1);
  });

  it('stops counting a bucket exactly when its last millisecond leaves (t - W, t]', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000_000 }), fc.nat(1e9), (windowMs, b) => {
        const end = bucketExpiry(b, windowMs);
        const lastMs = (b + 1) * bucketWidth(windowMs) - 1;
        // At `end` the bucket's last ms is exactly W old, so it is outside (end - W, end].
        expect(lastMs).toBe(end - windowMs);
        expect(oldestBucket(end - 1, windowMs)).toBeLessThanOrEqual(b);
        expect(oldestBucket(end, windowMs)).toBe(b + 1);
      }),
    );
  });

  it('records a request in the bucket holding its timestamp', () => {
    expect(currentBucket(119, 60_000, 5000)).toBe(1);
    expect(currentBucket(120, 60_000, 5000)).toBe(2);
    expect(currentBucket(1_234, 60_000, 100)).toBe(1_234);
  });

  it('prunes only buckets that no longer count', () => {
    const buckets: Buckets = new Map([
      [0, 1],
      [1, 2],
      [2, 3],
    ]);
    prune(buckets, bucketExpiry(0, 1_000), 1_000);
    expect([...buckets.keys()]).toEqual([1, 2]);
  });
});

describe('checkAll on one window', () => {
  const spec: WindowSpec = { id: 'second', limit: 2, windowMs: 1_000 };
  /** A limit above EXACT_UP_TO: 1000 buckets of 60 ms. */
  const coarse: WindowSpec = { id: 'minute', limit: 2000, windowMs: 60_000 };

  it('allows the limit, then rejects until exactly the oldest request leaves the window', () => {
    const counters = new Map<string, Buckets>();
    expect(checkOne(spec, counters, 0).allowed).toBe(true);
    expect(checkOne(spec, counters, 10).allowed).toBe(true);
    const third = checkOne(spec, counters, 20);
    expect(third.allowed).toBe(false);
    // Exact: the request at 0 leaves (t - 1000, t] at t = 1000.
    expect(third.windows[0]).toMatchObject({ used: 2, remaining: 0, retryAt: 1_000 });
    expect(checkOne(spec, counters, 999).allowed).toBe(false);
    expect(checkOne(spec, counters, 1_000).allowed).toBe(true);
  });

  it('counts a large limit in 60 ms buckets and frees the oldest bucket as a whole', () => {
    const counters = new Map<string, Buckets>();
    for (let i = 0; i < 2000; i++) checkOne(coarse, counters, 10 + (i % 50));
    const rejected = checkOne(coarse, counters, 100);
    expect(rejected.allowed).toBe(false);
    // Bucket 0 holds [0, 60) and stops counting at 60 + 60_000 - 1.
    expect(rejected.windows[0]?.retryAt).toBe(60_059);
  });

  it('reports used, remaining and the reset time after recording', () => {
    const counters = new Map<string, Buckets>();
    const first = checkOne(spec, counters, 5);
    expect(first.windows[0]).toMatchObject({ used: 1, remaining: 1, retryAt: 5, resetAt: 1_005 });
    const second = checkOne(spec, counters, 500);
    expect(second.windows[0]).toMatchObject({ used: 2, remaining: 0, resetAt: 1_005 });
  });

  it('never allows a cost above the limit, and says it never will', () => {
    const result = checkOne(spec, new Map(), 0, 3);
    expect(result.allowed).toBe(false);
    expect(result.windows[0]?.retryAt).toBe(Number.POSITIVE_INFINITY);
  });

  it('peeks without recording when consume is false', () => {
    const counters = new Map<string, Buckets>();
    expect(checkAll([spec], counters, 0, 1, false).allowed).toBe(true);
    expect(checkOne(spec, counters, 1).windows[0]?.used).toBe(1);
  });
});

describe('checkAll against the exact sliding log (properties)', () => {
  /** Replays a trace through our window while judging our own history with an exact log. */
  function replay(spec: WindowSpec, trace: readonly number[]) {
    const counters = new Map<string, Buckets>();
    const judged = exactSlidingLog(spec.limit, spec.windowMs);
    return trace.map((t) => {
      const exactBefore = judged.count(t);
      const result = checkOne(spec, counters, t);
      if (result.allowed) judged.record(t);
      return { t, exactBefore, result };
    });
  }

  it('never overshoots: at every allowed request fewer than limit were allowed in (t - W, t]', () => {
    fc.assert(
      fc.property(
        windowSpecArb().chain((spec) => fc.tuple(fc.constant(spec), traceArb(spec.windowMs))),
        ([spec, trace]) => {
          for (const step of replay(spec, trace)) {
            if (step.result.allowed) expect(step.exactBefore).toBeLessThan(spec.limit);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never allows more than a fresh exact-log replay, at any prefix of the trace', () => {
    // The exact log admits greedily, which maximises admissions among all histories with no
    // overshoot; ours has none, so at every prefix it has admitted at most as many.
    fc.assert(
      fc.property(
        windowSpecArb().chain((spec) => fc.tuple(fc.constant(spec), traceArb(spec.windowMs))),
        ([spec, trace]) => {
          const exact = exactSlidingLog(spec.limit, spec.windowMs);
          let ours = 0;
          let theirs = 0;
          for (const step of replay(spec, trace)) {
            if (step.result.allowed) ours++;
            if (exact.check(step.t)) theirs++;
            expect(ours).toBeLessThanOrEqual(theirs);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('over-counts only requests within one bucket width past their expiry', () => {
    fc.assert(
      fc.property(
        windowSpecArb().chain((spec) => fc.tuple(fc.constant(spec), traceArb(spec.windowMs))),
        ([spec, trace]) => {
          const w = bucketWidth(spec.windowMs);
          const allowed: number[] = [];
          for (const step of replay(spec, trace)) {
            const { t, result } = step;
            const state = result.windows[0];
            const usedBefore = (state?.used ?? 0) - (result.allowed ? 1 : 0);
            // Our count is the exact count plus the requests that expired less than a bucket ago.
            const late = allowed.filter((s) => s <= t - spec.windowMs && s > t - spec.windowMs - w);
            expect(usedBefore).toBeGreaterThanOrEqual(step.exactBefore);
            expect(usedBefore).toBeLessThanOrEqual(step.exactBefore + late.length);
            if (!result.allowed && step.exactBefore < spec.limit) {
              // A false rejection (given the same past) needs a counted request in its last bucket.
              expect(late.length).toBeGreaterThan(0);
              expect((state?.retryAt ?? 0) - t).toBeLessThanOrEqual(w);
            }
            if (result.allowed) allowed.push(t);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('gives a retry time at which the request is allowed, and not a millisecond earlier', () => {
    fc.assert(
      fc.property(
        windowSpecArb().chain((spec) => fc.tuple(fc.constant(spec), traceArb(spec.windowMs))),
        ([spec, trace]) => {
          const counters = new Map<string, Buckets>();
          for (const t of trace) {
            const before = cloneCounters(counters);
            const result = checkOne(spec, counters, t);
            if (result.allowed) continue;
            const retryAt = result.windows[0]?.retryAt ?? 0;
            expect(retryAt).toBeGreaterThan(t);
            expect(checkOne(spec, cloneCounters(before), retryAt - 1).allowed).toBe(false);
            expect(checkOne(spec, cloneCounters(before), retryAt).allowed).toBe(true);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('checkAll on several windows', () => {
  const specsArb = fc
    .tuple(windowSpecArb('a'), windowSpecArb('b'), windowSpecArb('c'))
    .map(([a, b, c]) => [a, b, c] as const);

  it('is all or nothing: a rejected request changes no counter, an allowed one all of them', () => {
    fc.assert(
      fc.property(
        specsArb.chain((specs) =>
          fc.tuple(
            fc.constant(specs),
            traceArb(Math.max(...specs.map((s) => s.windowMs))),
            fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 120, maxLength: 120 }),
          ),
        ),
        ([specs, trace, costs]) => {
          const counters = new Map<string, Buckets>();
          trace.forEach((t, i) => {
            const cost = costs[i] ?? 1;
            const before = cloneCounters(counters);
            for (const s of specs) prune(before.get(s.id) ?? new Map(), t, s.windowMs, s.limit);
            const result = checkAll(specs, counters, t, cost);
            expect(result.allowed).toBe(
              specs.every((s) => {
                const used = [...(before.get(s.id)?.values() ?? [])].reduce((x, y) => x + y, 0);
                return used + cost <= s.limit;
              }),
            );
            for (const s of specs) {
              const was = before.get(s.id) ?? new Map<number, number>();
              const now = counters.get(s.id) ?? new Map<number, number>();
              const b = currentBucket(t, s.windowMs, s.limit);
              const expected = new Map(was);
              if (result.allowed) expected.set(b, (was.get(b) ?? 0) + cost);
              expect(now).toEqual(expected);
            }
          });
        },
      ),
      { numRuns: 200 },
    );
  });

  it('blames only the windows that are full, and retries when the last of them frees up', () => {
    const specs: WindowSpec[] = [
      { id: 'minute', limit: 3, windowMs: 60_000 },
      { id: 'second', limit: 1, windowMs: 1_000 },
    ];
    const counters = new Map<string, Buckets>();
    expect(checkAll(specs, counters, 0).allowed).toBe(true);
    const rejected = checkAll(specs, counters, 100);
    expect(rejected.allowed).toBe(false);
    expect(rejected.windows.map((w) => w.retryAt > 100)).toEqual([false, true]);
    expect(rejected.windows[0]?.used).toBe(1);
    expect(checkAll(specs, counters, 1_009).allowed).toBe(true);
  });
});

describe('checkAll with large limits (coarse buckets)', () => {
  it('never holds more than the limit in any sliding window, whatever the costs', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1001, max: 5000 }),
        fc.constantFrom(1_000, 60_000, 3_600_000),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 400 }), fc.integer({ min: 1, max: 700 })), {
          minLength: 20,
          maxLength: 150,
        }),
        (limit, windowMs, steps) => {
          const spec: WindowSpec = { id: 'big', limit, windowMs };
          const counters = new Map<string, Buckets>();
          const allowed: [number, number][] = [];
          let t = 1_700_000_000_000;
          for (const [gap, cost] of steps) {
            t += Math.floor((gap * windowMs) / 1000);
            const result = checkAll([spec], counters, t, cost);
            if (result.allowed) allowed.push([t, cost]);
            const inWindow = allowed
              .filter(([at]) => at > t - windowMs)
              .reduce((sum, [, c]) => sum + c, 0);
            expect(inWindow).toBeLessThanOrEqual(limit);
            if (!result.allowed) {
              const retryAt = result.windows[0]?.retryAt ?? 0;
              const probe = cloneCounters(counters);
              expect(checkAll([spec], probe, retryAt - 1, cost, false).allowed).toBe(false);
              expect(checkAll([spec], probe, retryAt, cost, false).allowed).toBe(true);
            }
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('snapshot copy (coarsened towards the later edge)', () => {
  /** Units counted at `t` by the window of `spec` from `cells`. */
  const countAt = (spec: WindowSpec, cells: Buckets, t: number) =>
    checkAll([spec], new Map([[spec.id, new Map(cells)]]), t, 1, false).windows[0]?.used ?? 0;

  it('keeps about 100 cells of a minute and counts a unit at most 1% of the window longer', () => {
    const spec: WindowSpec = { id: 'minute', limit: 100, windowMs: 60_000 };
    const key = windowKey('c:a', spec);
    const cells: Buckets = new Map();
    for (let t = 0; t < 60_000; t += 100) cells.set(EPOCH_MS + t, 1);
    const copy = coarsenWindow(key, cells);
    expect(copy.size).toBeLessThanOrEqual(101);
    expect([...copy.values()].reduce((a, b) => a + b, 0)).toBe(600);
    // The last unit, at EPOCH_MS + 59_900, counts until 600 ms later at most.
    expect(windowExpiresAt(key, copy) - windowExpiresAt(key, cells)).toBeLessThanOrEqual(600);
  });

  it('never counts less than the object at any instant, and the same in total', () => {
    fc.assert(
      fc.property(
        fc.record({
          id: fc.constant('w'),
          limit: fc.oneof(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1001, max: 2e6 })),
          windowMs: windowMsArb,
        }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 200_000 }), fc.integer({ min: 1, max: 9 })), {
          maxLength: 40,
        }),
        fc.integer({ min: 0, max: 400_000 }),
        (spec, pairs, probe) => {
          const key = windowKey('c:p', spec);
          const cells: Buckets = new Map();
          for (const [t, n] of pairs) {
            const b = currentBucket(EPOCH_MS + t, spec.windowMs, spec.limit);
            cells.set(b, (cells.get(b) ?? 0) + n);
          }
          const copy = coarsenWindow(key, cells);
          const at = EPOCH_MS + probe;
          expect(countAt(spec, copy, at)).toBeGreaterThanOrEqual(countAt(spec, cells, at));
          expect([...copy.values()].reduce((a, b) => a + b, 0)).toBe(
            [...cells.values()].reduce((a, b) => a + b, 0),
          );
          if (!cells.size) return;
          const longer = windowExpiresAt(key, copy) - windowExpiresAt(key, cells);
          const width = bucketWidth(spec.windowMs, spec.limit);
          expect(longer).toBeLessThanOrEqual((Math.ceil(spec.windowMs / width / 100) - 1) * width);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('fullAt: when the whole quota is back', () => {
  it('is the first instant at which nothing counted remains in the window (and never before)', () => {
    fc.assert(
      fc.property(
        windowSpecArb().chain((spec) => fc.tuple(fc.constant(spec), traceArb(spec.windowMs, 40))),
        ([spec, trace]) => {
          const counters = new Map<string, Buckets>();
          for (const t of trace) checkOne(spec, counters, t);
          const last = trace.at(-1) ?? 0;
          const read = (t: number) =>
            checkAll([spec], cloneCounters(counters), t, 1, false).windows[0];
          const state = read(last);
          const fullAt = state?.fullAt ?? Number.NaN;
          if ((state?.used ?? 0) === 0) {
            expect(fullAt).toBe(last);
            return;
          }
          expect(fullAt).toBeGreaterThanOrEqual(state?.resetAt ?? 0);
          expect(read(fullAt)?.used).toBe(0);
          expect(read(fullAt - 1)?.used).toBeGreaterThan(0);
        },
      ),
    );
  });
});
