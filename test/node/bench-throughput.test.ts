import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { throughputLine } from '../../scripts/bench/bar';
import type { ThroughputCell } from '../../scripts/bench/cells';
import type { BenchWorker } from '../../scripts/bench/harness';
import {
  blockRatios,
  measureThroughput,
  sideOf,
  type ThroughputResult,
} from '../../scripts/bench/throughput';

/**
 * A worker answering after 1 ms: `status` and `onFetch` per path, `cpuMs` if given.
 */
function fakeWorker(
  opts: {
    status?: (path: string) => number;
    onFetch?: (path: string) => void;
    cpuMs?: () => Promise<number>;
  } = {},
): BenchWorker {
  return {
    name: 'fake',
    async fetch(path) {
      opts.onFetch?.(path);
      await new Promise((resolve) => setTimeout(resolve, 1));
      return { status: opts.status?.(path) ?? 200, headers: new Headers() };
    },
    fetchJson: async () => ({ status: 200, body: undefined }),
    ...(opts.cpuMs ? { cpuMs: opts.cpuMs } : {}),
    dispose: async () => {},
  };
}

/** Throughput of `worker` with the `/limited` and `/bypassed` paths, 50 ms slices unless told. */
function measure(
  worker: BenchWorker,
  opts: { concurrency?: number; durationMs: number; sliceMs?: number; warmupMs?: number },
): Promise<ThroughputResult> {
  return measureThroughput({
    worker,
    limited: { path: '/limited' },
    bypassed: { path: '/bypassed' },
    concurrency: opts.concurrency ?? 2,
    durationMs: opts.durationMs,
    sliceMs: opts.sliceMs ?? 50,
    maxPerSlice: 1000,
    ...(opts.warmupMs !== undefined ? { warmupMs: opts.warmupMs } : {}),
  });
}

describe('throughput slices', () => {
  it('give both sides as many slices, at the same mean position, in every whole ABBA block', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), (blocks) => {
        const at = { limited: [] as number[], bypassed: [] as number[] };
        for (let s = 0; s < 4 * blocks; s++) at[sideOf(s)].push(s);
        const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
        // Equal means: a linear drift over the cell weighs on both sides alike. Strict
        // alternation (B L B L) puts every limited slice one slot after its bypassed one.
        return at.limited.length === at.bypassed.length && mean(at.limited) === mean(at.bypassed);
      }),
    );
  });

  it('measure whole ABBA blocks after an unmeasured warm-up, and count only limited non-2xx', async () => {
    let calls = 0;
    const worker = fakeWorker({
      status: (path) => (path === '/limited' ? 429 : 200),
      onFetch: () => calls++,
    });
    const result = await measure(worker, { durationMs: 250, warmupMs: 100 });
    expect(result.slices.map((s) => s.side)).toEqual([
      'bypassed',
      'limited',
      'limited',
      'bypassed',
    ]);
    const measured = result.slices.reduce((n, s) => n + s.answers, 0);
    // The warm-up's requests were sent but are in no slice.
    expect(calls).toBeGreaterThan(measured);
    const limited = result.slices
      .filter((s) => s.side === 'limited')
      .reduce((n, s) => n + s.answers, 0);
    expect(result.limitedNon2xx).toBe(limited);
  });

  it('charge each side the workerd CPU its slices used, per answered request', async () => {
    // A worker whose CPU clock advances 3 ms per limited request and 2 ms per bypassed one.
    let cpu = 0;
    const worker = fakeWorker({
      onFetch: (path) => {
        cpu += path === '/limited' ? 3 : 2;
      },
      cpuMs: async () => cpu,
    });
    const result = await measure(worker, { durationMs: 200, warmupMs: 40 });
    expect(result.cpu?.limitedUsPerRequest).toBe(3000);
    expect(result.cpu?.bypassedUsPerRequest).toBe(2000);
    expect(result.cpu?.ratio).toBeCloseTo(2 / 3, 10);
    for (const slice of result.slices) {
      expect(slice.cpuMs).toBe(slice.answers * (slice.side === 'limited' ? 3 : 2));
    }
  });
});

describe('throughput without CPU figures', () => {
  it('measures the rates when reading CPU fails, and reports no CPU ratio', async () => {
    let reads = 0;
    const worker = fakeWorker({
      cpuMs: async () => {
        reads++;
        if (reads > 3) throw new Error('ENOENT: /proc/123/stat');
        return reads * 10;
      },
    });
    const result = await measure(worker, { concurrency: 1, durationMs: 160, sliceMs: 40 });
    expect(result.cpu).toBeUndefined();
    expect(result.slices).toHaveLength(4);
    expect(result.limitedRps).toBeGreaterThan(0);
    // Only the first slice was read whole; none after the failure.
    expect(result.slices.filter((s) => s.cpuMs !== undefined)).toHaveLength(1);
  });
});

describe('blockRatios', () => {
  const slice = (side: 'limited' | 'bypassed', answers: number, ms = 100) => ({
    side,
    answers,
    ms,
  });

  it('compares the sides within each ABBA block, so a block the host slowed stays one block', () => {
    const slices = [
      slice('bypassed', 100),
      slice('limited', 90),
      slice('limited', 90),
      slice('bypassed', 100),
      // Another process took the cores for the second block's bypassed slices.
      slice('bypassed', 30),
      slice('limited', 95),
      slice('limited', 85),
      slice('bypassed', 30, 100),
    ];
    expect(blockRatios(slices)).toEqual([0.9, 3]);
    expect(blockRatios(slices.slice(0, 7))).toEqual([0.9]);
    expect(
      blockRatios([
        slice('bypassed', 0),
        slice('limited', 1),
        slice('limited', 1),
        slice('bypassed', 0),
      ]),
    ).toEqual([]);
  });
});

describe('the throughput bar', () => {
  const cellOf = (ratio: number, cpuRatio?: number): ThroughputCell => {
    const result: ThroughputResult = {
      limitedRps: 1000 * ratio,
      bypassedRps: 1000,
      ratio,
      limitedNon2xx: 0,
      slices: [],
      blocks: { ratios: [ratio], median: ratio },
      ...(cpuRatio === undefined
        ? {}
        : {
            cpu: {
              limitedUsPerRequest: 1000 / cpuRatio,
              bypassedUsPerRequest: 1000,
              ratio: cpuRatio,
            },
          }),
    };
    return { target: 'hybrid-fast', label: 'default', rttMs: 0, result };
  };

  it('judges the worst cell on the rates, with the CPU ratio beside them', () => {
    const line = throughputLine([cellOf(0.95, 0.85), cellOf(0.92, 0.97)]);
    expect(line.pass).toBe(true);
    expect(line.value).toBe('rates 0.95 / 0.92 (CPU 0.85 / 0.97)');
    expect(throughputLine([cellOf(1.2, 0.95), cellOf(0.89, 0.99)]).pass).toBe(false);
  });

  it('says when a cell could not read CPU, and passes nothing it did not measure', () => {
    const line = throughputLine([cellOf(0.95, 0.5), cellOf(0.91)]);
    expect(line.pass).toBe(true);
    expect(line.value).toBe('rates 0.95 / 0.91 (CPU not read)');
    expect(throughputLine([]).pass).toBeNull();
  });
});
