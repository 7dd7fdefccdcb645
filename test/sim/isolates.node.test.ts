/**
 * `--isolates N` (`Scenario.isolatesPerLocation`): how many isolates serve one identity per
 * location; `--affinity` (`Scenario.affinity`): one of them per caller.
 */
import { describe, expect, it } from 'vitest';
import { AGREEMENT_SCENARIO, minute, type Scenario } from '../../scripts/sim/scenario';
import { simulate } from '../../scripts/sim/simulate';
import { simFleet } from '../support/sim-fleet';

/** Two locations, no latency, isolates that never die, a boundary attack 1 s into a 2 s run. */
const small = (isolatesPerLocation: number): Scenario => ({
  ...AGREEMENT_SCENARIO,
  name: 'isolates',
  durationMs: 2_000,
  startOffsetMs: 59_000,
  locations: 2,
  isolatesPerLocation,
  identities: 4,
  backgroundRps: 5,
  bursts: 0,
  attacker: { windows: [minute(20)], spreadMs: 200 },
});

describe('isolates per location', () => {
  for (const n of [1, 3]) {
    it(`serves the boundary attacker from ${n} isolate(s) per location`, async () => {
      const { row } = await simulate(small(n), 'fast');
      // 40 attacker requests per location over n slots: every slot is met, none is replaced.
      expect(row.attacker?.requests).toBe(80);
      expect(row.attacker?.isolates).toBe(2 * n);
      // The stated bound scales with them: 2 units (limit 20 / 8) per isolate, optimistic or
      // failed open.
      expect(row.attacker?.statedBoundOverLimit).toBe(2 * n * 2);
    });
  }

  it('serves a caller from one isolate per location with affinity (--affinity), whatever the slots', async () => {
    const { row } = await simulate({ ...small(3), affinity: true }, 'fast');
    expect(row.attacker?.requests).toBe(80);
    // One connection per location: 2 isolates, not 6.
    expect(row.attacker?.isolates).toBe(2);
  });

  it('gives one caller the same slot at a location, and spreads callers over every slot', () => {
    const { fleet } = simFleet(small(4), 7);
    for (let caller = 0; caller < 50; caller++) {
      const seen = new Set(Array.from({ length: 20 }, () => fleet.isolateAt(1, caller)));
      expect(seen.size).toBe(1);
    }
    const slots = new Set(Array.from({ length: 50 }, (_, caller) => fleet.isolateAt(1, caller)));
    expect(slots.size).toBe(4);
  });

  it('gives one location exactly that many distinct isolates', () => {
    for (const n of [1, 3, 5]) {
      const { fleet } = simFleet(small(n), 7);
      const seen = new Set(Array.from({ length: 200 }, () => fleet.isolateAt(1)));
      expect(seen.size).toBe(n);
      expect([...seen].every((iso) => iso.location === 1)).toBe(true);
    }
  });
});
