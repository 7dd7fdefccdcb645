/** The bar's in-worker check reads workerd's 1 ms-step clock for what it can prove. */
import { describe, expect, it } from 'vitest';
import type { AccuracyRow } from '../../scripts/bench/accuracy';
import { bar, DEFAULT_TARGET } from '../../scripts/bench/bar';
import type { Case, LatencyCell } from '../../scripts/bench/cells';
import type { LatencyResult } from '../../scripts/bench/latency';
import {
  type AccuracyScore,
  overhead,
  steppedReadings,
  summarize,
} from '../../scripts/bench/stats';

/** A default-row cell whose limited requests read `server` ms in Server-Timing (both runs). */
const cell = (which: Case, server: number[]): LatencyCell => {
  const ms = server.map(() => 1);
  const run: LatencyResult = {
    limited: summarize(ms),
    bypassed: summarize(ms),
    overhead: overhead(ms, ms),
    server: summarize(server),
    serverSteps: steppedReadings(server, 1, 1),
    statuses: { 200: server.length },
    elapsedMs: 1,
    truncated: false,
  };
  return {
    target: DEFAULT_TARGET,
    label: 'edgelimit hybrid fast (default)',
    family: 'edgelimit',
    case: which,
    rttMs: 10,
    runs: [run, run],
    commandsPerRequest: [0],
    billedPerRequest: [0],
    doRequestsPerRequest: [0],
    doRowsPerRequest: [0],
  };
};
const readings = (zeros: number, ones: number, twos: number) => [
  ...Array<number>(zeros).fill(0),
  ...Array<number>(ones).fill(1),
  ...Array<number>(twos).fill(2),
];
const serverLine = (allowed: number[], blocked: number[]) => {
  const line = bar([cell('allowed', allowed), cell('blocked', blocked)], [], []).find((l) =>
    l.check.includes('Server-Timing'),
  );
  if (!line) throw new Error('no Server-Timing line');
  return line;
};

describe('the bar: Server-Timing on a 1 ms-step clock', () => {
  it('cannot tell when 6% read one step and none two (the p99 reads 1.00 either way)', () => {
    const line = serverLine(readings(940, 60, 0), readings(995, 5, 0));
    expect(line.pass).toBeNull();
    expect(line.value).toContain('cannot tell');
    expect(line.value).toContain('p99 read 1.00 / 0.00 ms');
    expect(line.value).toContain('mean <= 0.06 ms');
  });

  it('passes when 99% of readings are 0 in both cells', () => {
    expect(serverLine(readings(995, 5, 0), readings(1000, 0, 0)).pass).toBe(true);
  });

  it('fails when more than 1% read 2 ms or more in any cell', () => {
    expect(serverLine(readings(995, 5, 0), readings(970, 10, 20)).pass).toBe(false);
  });

  it('judges a fine clock as read', () => {
    expect(serverLine([0.2, 0.3, 0.9], [0.1, 0.4, 0.5]).pass).toBe(true);
    expect(serverLine([0.2, 0.3, 1.5], [0.1, 0.4, 0.5]).pass).toBe(false);
  });
});

describe('the bar: overshoot in exact modes', () => {
  const score = (overshoot: number): AccuracyScore => ({
    requests: 30,
    allowed: 10 + overshoot,
    exactAllowed: 10,
    overshoot,
    overLimit: overshoot,
    falseRejectionPct: 0,
    unjustRejectionPct: 0,
    provableOvershoot: overshoot,
  });
  const row = (boundary: number, failedOpen: number): AccuracyRow => ({
    limiter: 'edgelimit redis',
    clock: 'real',
    limit: 10,
    windowMs: 2_000,
    traces: { uniform: score(0), bursty: score(0), boundary: score(boundary) },
    notes: failedOpen ? { boundary: { 'failed-open': failedOpen } } : {},
  });
  const line = (rows: AccuracyRow[]) => {
    const found = bar([], rows, []).find((l) => l.check.startsWith('overshoot 0 in exact'));
    if (!found) throw new Error('no overshoot line');
    return found;
  };

  it('fails on any overshoot the store decided', () => {
    expect(line([row(1, 0)]).pass).toBe(false);
    expect(line([row(0, 0)]).pass).toBe(true);
  });

  it('shows, and does not judge, a trace in which requests failed open', () => {
    const judged = line([row(7, 9)]);
    expect(judged.pass).toBe(true);
    expect(judged.value).toBe(
      'max 0 over the limit; left out: edgelimit redis boundary (9 failed open)',
    );
  });
});
