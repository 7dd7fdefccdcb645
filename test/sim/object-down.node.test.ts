/**
 * `--attacker-object-down FROM-TO` (`Scenario.attackerObjectDown`): the boundary attacker's object
 * fails every call, and what a failing object lets pass is bounded per isolate by the windows
 * (`failedOpenRefusal`), not by the object.
 */
import { describe, expect, it } from 'vitest';
import { AGREEMENT_SCENARIO, minute, type Scenario } from '../../scripts/sim/scenario';
import { simulate } from '../../scripts/sim/simulate';

/** Two locations, one isolate each, a boundary attack 1 s into a 2 s run (40 per location). */
const attack = (down: boolean): Scenario => ({
  ...AGREEMENT_SCENARIO,
  name: 'object-down',
  durationMs: 2_000,
  startOffsetMs: 59_000,
  locations: 2,
  isolatesPerLocation: 1,
  identities: 4,
  backgroundRps: 5,
  bursts: 0,
  attacker: { windows: [minute(20)], spreadMs: 200 },
  ...(down ? { attackerObjectDown: { from: 0, to: 2_000 } } : {}),
});

describe('the attacker object down', () => {
  it('lets each isolate pass at most its first contact and a limit of failed-open requests per window', async () => {
    const up = (await simulate(attack(false), 'fast')).row.attacker;
    const down = (await simulate(attack(true), 'fast')).row.attacker;
    expect(up?.requests).toBe(80);
    expect(down?.requests).toBe(80);
    // Within the stated bound with its object up.
    expect(up?.maxOverLimit).toBeLessThanOrEqual(up?.statedBoundOverLimit ?? 0);
    // Down: per isolate one first contact and 20 that failed open, then refusals; of the 80,
    // 42 pass at most, 22 over a limit of 20 (before: all 80, 60 over).
    expect(down?.maxOverLimit).toBeGreaterThan(up?.statedBoundOverLimit ?? 0);
    expect(down?.maxOverLimit).toBeLessThanOrEqual(2 * (1 + 20) - 20);
  });
});
