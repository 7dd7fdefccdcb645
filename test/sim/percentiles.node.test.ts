/** The latency summary of a simulation row (`scripts/sim/simulate.ts`). */
import { describe, expect, it } from 'vitest';
import { percentiles } from '../../scripts/sim/simulate';

describe('percentiles', () => {
  it('counts the share of requests above 1 ms, not at it', () => {
    const summary = percentiles(Float64Array.from([3, 0, 1, 0.5, 1.5]));
    expect(summary.over1msPct).toBe(40);
    expect(summary.p50).toBe(1);
    expect(summary.p99).toBe(3);
  });

  it('gives 0 for no requests', () => {
    expect(percentiles(new Float64Array(0))).toEqual({ p50: 0, p99: 0, p999: 0, over1msPct: 0 });
  });
});
