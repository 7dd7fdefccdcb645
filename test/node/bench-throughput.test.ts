import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BenchWorker } from '../../scripts/bench/harness';
import { measureThroughput, sideOf } from '../../scripts/bench/throughput';

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
    const worker: BenchWorker = {
      name: 'fake',
      async fetch(path) {
        calls++;
        await new Promise((resolve) => setTimeout(resolve, 1));
        return { status: path === '/limited' ? 429 : 200, headers: new Headers() };
      },
      fetchJson: async () => ({ status: 200, body: undefined }),
      dispose: async () => {},
    };
    const result = await measureThroughput({
      worker,
      limited: { path: '/limited' },
      bypassed: { path: '/bypassed' },
      concurrency: 2,
      durationMs: 250,
      sliceMs: 50,
      maxPerSlice: 1000,
      warmupMs: 100,
    });
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
});
