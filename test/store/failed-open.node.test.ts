/** The record of units that failed open, kept by an isolate until an ask reports them. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_FAILED_OPEN_GROUPS } from '../../src/limiter/lease-protocol';
import {
  FAILED_OPEN_GROUP_MS,
  type FailedOpenGroup,
  failedOpenAsk,
  failedOpenRefusal,
  failedOpenUnits,
  noteFailedOpen,
  restoreFailedOpen,
} from '../../src/store/failed-open';

const DAY = 86_400_000;

/** Units the groups record at or before `t`. */
const recordedBy = (groups: readonly FailedOpenGroup[], t: number) =>
  groups.filter((g) => g.at <= t).reduce((sum, g) => sum + g.units, 0);

describe('noteFailedOpen', () => {
  it(`groups units within ${FAILED_OPEN_GROUP_MS} ms of a group's first, at the last one's instant`, () => {
    const groups: FailedOpenGroup[] = [];
    const g = FAILED_OPEN_GROUP_MS;
    for (const t of [1_000, 1_000 + g / 2, 1_000 + g - 1, 1_000 + g, 1_350]) {
      noteFailedOpen(groups, t, DAY);
    }
    expect(groups).toEqual([
      { from: 1_000, at: 1_000 + g - 1, units: 3 },
      { from: 1_000 + g, at: 1_000 + g, units: 1 },
      { from: 1_350, at: 1_350, units: 1 },
    ]);
  });

  it('drops what is older than the longest window: it counts nowhere', () => {
    const groups: FailedOpenGroup[] = [];
    noteFailedOpen(groups, 0, 60_000);
    noteFailedOpen(groups, 30_000, 60_000);
    noteFailedOpen(groups, 60_000, 60_000);
    expect(groups.map((g) => g.at)).toEqual([30_000, 60_000]);
  });

  it('keeps every unit and never records one before it passed, however long the outage (coarsened, bounded)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 3_000 }), { minLength: 1, maxLength: 600 }),
        (gaps) => {
          const groups: FailedOpenGroup[] = [];
          const times: number[] = [];
          let t = 0;
          for (const gap of gaps) {
            t += gap;
            times.push(t);
            noteFailedOpen(groups, t, DAY);
          }
          expect(groups.length).toBeLessThanOrEqual(MAX_FAILED_OPEN_GROUPS);
          expect(failedOpenUnits(groups)).toBe(times.length);
          // At every instant, no more recorded by then than really passed by then.
          for (const at of [...times, ...groups.map((g) => g.at)]) {
            expect(recordedBy(groups, at)).toBeLessThanOrEqual(times.filter((x) => x <= at).length);
          }
          // And nothing is pushed past the last unit that passed.
          expect(Math.max(...groups.map((g) => g.at))).toBe(t);
        },
      ),
    );
  });
});

describe('failedOpenAsk and restoreFailedOpen', () => {
  it('reports where each group passed, leaving out what left the longest window', () => {
    const groups: FailedOpenGroup[] = [
      { from: 0, at: 10, units: 2 },
      { from: 50_000, at: 50_050, units: 3 },
    ];
    expect(failedOpenAsk(groups, 60_010, 60_000)).toEqual([{ units: 3, at: 50_050 }]);
    expect(failedOpenAsk(groups, 60_000, 60_000)).toEqual([
      { units: 2, at: 10 },
      { units: 3, at: 50_050 },
    ]);
  });

  it('puts what a failed ask carried back before what failed open since, within the bound', () => {
    const sent = Array.from({ length: 60 }, (_, i) => ({ from: i * 200, at: i * 200, units: 1 }));
    const since = Array.from({ length: 10 }, (_, i) => ({
      from: 20_000 + i * 200,
      at: 20_000 + i * 200,
      units: 2,
    }));
    const kept = restoreFailedOpen(sent, since);
    expect(kept.length).toBeLessThanOrEqual(MAX_FAILED_OPEN_GROUPS);
    expect(failedOpenUnits(kept)).toBe(60 + 20);
    expect(kept.at(-1)?.at).toBe(20_000 + 9 * 200);
    expect(restoreFailedOpen([], since)).toEqual(since);
  });
});

describe('failedOpenRefusal', () => {
  const minute = { id: 'minute', limit: 5, windowMs: 60_000 };

  it('refuses once the units that passed within a window leave no room, with the time room comes back', () => {
    const groups: FailedOpenGroup[] = [];
    for (const t of [1_000, 2_000, 3_000, 4_000]) noteFailedOpen(groups, t, DAY);
    expect(failedOpenRefusal(groups, [minute], 1, 5_000)).toBeUndefined();
    noteFailedOpen(groups, 5_000, DAY);
    const refused = failedOpenRefusal(groups, [minute], 1, 5_500);
    expect(refused?.allowed).toBe(false);
    expect(refused?.windows[0]).toMatchObject({ used: 5, remaining: 0, retryAt: 61_000 });
    // A cost of 3 needs the three oldest gone.
    expect(failedOpenRefusal(groups, [minute], 3, 5_500)?.windows[0]?.retryAt).toBe(63_000);
    // The oldest has left: room for one.
    expect(failedOpenRefusal(groups, [minute], 1, 61_001)).toBeUndefined();
  });

  it('judges neither concurrency limits nor windows the origin charges', () => {
    const groups: FailedOpenGroup[] = [{ from: 1_000, at: 1_000, units: 50 }];
    const others = [
      { id: 'slots', kind: 'concurrency' as const, limit: 1, windowMs: 60_000 },
      { id: 'charged', charge: 'origin' as const, limit: 1, windowMs: 60_000 },
    ];
    expect(failedOpenRefusal(groups, others, 1, 2_000)).toBeUndefined();
  });

  it('never refuses a caller whose passes left room in every window, however the record coarsened', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 300_000 }), { minLength: 1, maxLength: 400 }),
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 1, max: 3 }),
        (times, limit, cost) => {
          const passes = [...times].sort((a, b) => a - b);
          const groups: FailedOpenGroup[] = [];
          for (const t of passes) noteFailedOpen(groups, t, DAY);
          const now = (passes.at(-1) ?? 0) + 1;
          const window = { id: 'w', limit, windowMs: 60_000 };
          const within = passes.filter((t) => t > now - window.windowMs).length;
          const refused = failedOpenRefusal(groups, [window], cost, now);
          // A refusal is only ever right: what passed within the window leaves no room.
          if (refused) expect(within + cost).toBeGreaterThan(limit);
          // And without coarsening, what is over its limit is refused.
          if (groups.length < MAX_FAILED_OPEN_GROUPS && within + cost > limit) {
            const exactly = passes.filter((t) => t > now - window.windowMs - FAILED_OPEN_GROUP_MS);
            if (exactly.length === within) expect(refused?.allowed).toBe(false);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
