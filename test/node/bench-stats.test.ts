import { describe, expect, it } from 'vitest';
import {
  drift,
  overhead,
  percentile,
  percentileUnderBound,
  provableOvershoot,
  scoreDecisions,
  steppedReadings,
  summarize,
} from '../../scripts/bench/stats';

describe('percentile', () => {
  it('returns the only value of a one-element series for every p', () => {
    expect(percentile([7], 0)).toBe(7);
    expect(percentile([7], 99)).toBe(7);
  });

  it('interpolates between the two closest ranks', () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2.5);
    expect(percentile([0, 10], 90)).toBe(9);
  });

  it('gives the extremes at 0 and 100', () => {
    const sorted = [1, 5, 9, 20];
    expect(percentile(sorted, 0)).toBe(1);
    expect(percentile(sorted, 100)).toBe(20);
  });

  it('picks the 99th of 100 ordered samples close to the top', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 99)).toBeCloseTo(99.01, 5);
  });

  it('refuses an empty series and p outside 0-100', () => {
    expect(() => percentile([], 50)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(() => percentile([1], Number.NaN)).toThrow(RangeError);
  });
});

describe('summarize', () => {
  it('sorts a copy and leaves the input in its order', () => {
    const samples = [3, 1, 2];
    const s = summarize(samples);
    expect(samples).toEqual([3, 1, 2]);
    expect(s).toMatchObject({ n: 3, p50: 2, max: 3, mean: 2 });
  });
});

describe('overhead', () => {
  it('subtracts the bypassed percentiles from the limited ones', () => {
    const bypassed = Array.from({ length: 101 }, (_, i) => 1 + i / 100);
    const limited = bypassed.map((x) => x + 0.5);
    const o = overhead(limited, bypassed);
    expect(o.p50).toBeCloseTo(0.5, 9);
    expect(o.p99).toBeCloseTo(0.5, 9);
    expect(o.pairedP50).toBeCloseTo(0.5, 9);
  });

  it('reports a negative overhead when the limited series is faster', () => {
    expect(overhead([1, 1, 1], [2, 2, 2]).p50).toBe(-1);
  });
});

describe('drift', () => {
  it('is the absolute distance between two runs', () => {
    expect(drift(1, 1.25)).toBe(0.25);
    expect(drift(1.25, 1)).toBe(0.25);
  });
});

describe('scoreDecisions', () => {
  it('finds the overshoot of a limiter that allows everything', () => {
    const times = [0, 10, 20, 30];
    const s = scoreDecisions(times, [true, true, true, true], 2, 1000);
    expect(s.overshoot).toBe(2);
    expect(s.overLimit).toBe(2);
    expect(s.falseRejectionPct).toBe(0);
  });

  it('scores an exact limiter with no overshoot and no false rejections', () => {
    const times = [0, 10, 20, 1000, 1005];
    const s = scoreDecisions(times, [true, true, false, true, false], 2, 1000);
    expect(s).toMatchObject({ overshoot: 0, overLimit: 0, exactAllowed: 3, allowed: 3 });
    expect(s.falseRejectionPct).toBe(0);
    expect(s.unjustRejectionPct).toBe(0);
  });

  it('counts a rejection the exact log would have allowed as false and unjust', () => {
    const s = scoreDecisions([0, 10], [true, false], 2, 1000);
    expect(s.falseRejectionPct).toBe(50);
    expect(s.unjustRejectionPct).toBe(50);
  });

  it('catches the boundary attack on a limiter that resets at fixed windows', () => {
    // Two bursts of the limit around t = 1000 pass a fixed-window limiter: twice the limit.
    const times = [995, 996, 997, 1000, 1001, 1002];
    const s = scoreDecisions(
      times,
      times.map(() => true),
      3,
      1000,
    );
    expect(s.overshoot).toBe(3);
  });

  it('refuses decisions that do not match the trace', () => {
    expect(() => scoreDecisions([0, 1], [true], 1, 10)).toThrow(RangeError);
  });
});

describe('provableOvershoot', () => {
  it('counts only requests certainly inside one window, whatever their decision instant', () => {
    // Sent 999 ms apart but each answered 5 ms later: decided up to 1004 ms apart.
    expect(provableOvershoot([0, 999], [5, 1004], [true, true], 1, 1000)).toBe(0);
    // Both certainly inside (0, 1000]: sent after 0, answered by 1000.
    expect(provableOvershoot([1, 500], [10, 600], [true, true], 1, 1000)).toBe(1);
    expect(provableOvershoot([1, 500], [10, 600], [true, false], 1, 1000)).toBe(0);
  });
});

describe('steppedReadings and percentileUnderBound (a clock that moves in 1 ms steps)', () => {
  it('counts a 0 reading as certainly under 1 ms, 2 or more as certainly over, 1 as either', () => {
    const r = steppedReadings([0, 0, 0, 1, 2, 3, 0, 0, 1, 0], 1, 1);
    expect(r.stepped).toBe(true);
    expect(r.certainlyUnder).toBeCloseTo(0.6, 10);
    expect(r.certainlyOver).toBeCloseTo(0.2, 10);
    expect(r.mean).toBeCloseTo(0.7, 10);
  });

  it('tells a fine clock from a stepped one', () => {
    expect(steppedReadings([0, 0.25, 1], 1, 1).stepped).toBe(false);
    expect(steppedReadings([], 1, 1).stepped).toBe(false);
  });

  it('shows a p99 under the bound only when 99% read 0, refutes it when over 1% read 2+', () => {
    const of = (zeros: number, ones: number, twos: number) =>
      percentileUnderBound(
        steppedReadings(
          [...Array(zeros).fill(0), ...Array(ones).fill(1), ...Array(twos).fill(2)],
          1,
          1,
        ),
        99,
      );
    expect(of(995, 5, 0)).toBe(true);
    // 6% read one step (the default's cell on 2026-12-03): the step cannot tell.
    expect(of(940, 60, 0)).toBeNull();
    expect(of(940, 40, 20)).toBe(false);
  });

  it('estimates the mean duration without bias from random clock phases', () => {
    // A 0.06 ms duration starting at 10,000 evenly spread phases of a 1 ms step.
    const readings = Array.from({ length: 10_000 }, (_, i) => {
      const start = i / 10_000;
      return Math.floor(start + 0.06) - Math.floor(start);
    });
    expect(steppedReadings(readings, 1, 1).mean).toBeCloseTo(0.06, 6);
  });
});
