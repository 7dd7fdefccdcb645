/**
 * The Durable Object's plain modules, in Node with no Workers runtime: the decision core, the
 * storage layout (snapshot rows; entries of the earlier layout still load), the codec, cold
 * reload, the save plan, and `LimiterCore` over an in-memory runtime (rows written, what a crash
 * loses).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Cells } from '../../src/limiter/algorithm';
import { windowKey } from '../../src/limiter/algorithms/sliding-window/keys';
import type { WindowSpec } from '../../src/limiter/contract';
import { ColdReload } from '../../src/store/cold-reload';
import { HotCache } from '../../src/store/hot-cache';
import { LimiterCore, type LimiterRuntime, type SnapshotRedis } from '../../src/store/limiter-core';
import { createMemoryStore } from '../../src/store/memory-store';
import {
  retryDelayMs,
  SAVE_INTERVAL_MS,
  unsavedLimit,
  wantedAlarm,
} from '../../src/store/save-plan';
import { decodeWindows, encodeWindows } from '../../src/store/snapshot-codec';
import { rowName, snapshotRows, stateFromEntries } from '../../src/store/storage-layout';
import { EPOCH, traceArb, windowSpecArb } from '../support/arbitraries';

const minute: WindowSpec = { id: 'minute', limit: 3, windowMs: 60_000 };

describe('HotCache', () => {
  it('decides every trace like the memory store', async () => {
    await fc.assert(
      fc.asyncProperty(
        windowSpecArb().chain((spec) => fc.tuple(fc.constant(spec), traceArb(spec.windowMs, 60))),
        async ([spec, trace]) => {
          const cache = new HotCache();
          const memory = createMemoryStore();
          for (const t of trace) {
            const request = { identity: 'c:p', windows: [spec], now: EPOCH + t };
            expect(cache.check(request, EPOCH + t).result).toEqual(await memory.check(request));
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('reports exactly the cells a decision changed, and nothing for a rejection', () => {
    const cache = new HotCache();
    const request = { identity: 'c:acme', windows: [minute] };
    const key = windowKey('c:acme', minute);
    const first = cache.check({ ...request, now: EPOCH }, EPOCH);
    expect(first.commit?.deltas).toEqual([{ key, limit: 3, cell: EPOCH, delta: 1 }]);
    cache.check({ ...request, now: EPOCH }, EPOCH);
    cache.check({ ...request, now: EPOCH }, EPOCH);
    const rejected = cache.check({ ...request, now: EPOCH + 1 }, EPOCH + 1);
    expect(rejected.result.allowed).toBe(false);
    expect(rejected.commit).toBeUndefined();
  });

  it('loads snapshot rows and the earlier per-cell layout, and ignores any other shape', () => {
    const key = windowKey('c:acme', minute);
    const other = windowKey('c:acme', { id: 'day', limit: 3, windowMs: 86_400_000 });
    const stored: [string, unknown][] = [
      // The earlier layout: `<window key>|<bucket>` -> count, and write-behind deltas.
      [`${other}|${EPOCH}`, 2],
      [`${other}|not-a-bucket`, 9],
      ['wb:pending', [[other, 1000, [[EPOCH, 2]]]]],
      ['el:{c:acme}:old-layout', 4],
      ...Object.entries(
        snapshotRows('c:acme', true, [
          [
            key,
            new Map([
              [EPOCH, 2],
              [EPOCH + 5, 1],
            ]),
          ],
        ]),
      ),
      ['snap|9', { v: 2 }],
    ];
    const state = stateFromEntries(stored);
    expect(state.identity).toBe('c:acme');
    expect(state.hybrid).toBe(true);
    expect(state.rows).toBe(1);
    expect(state.legacy.sort()).toEqual(
      [`${other}|${EPOCH}`, `${other}|not-a-bucket`, 'el:{c:acme}:old-layout', 'wb:pending'].sort(),
    );
    expect([...(state.windows.get(other) ?? [])]).toEqual([[EPOCH, 2]]);
    const cache = new HotCache(state.windows);
    const outcome = cache.check(
      { identity: 'c:acme', windows: [minute], now: EPOCH + 6 },
      EPOCH + 6,
    );
    expect(outcome.result.allowed).toBe(false);
    expect(outcome.result.windows[0]?.used).toBe(3);
  });

  it('sweeps expired cells and forgets empty windows', () => {
    const cache = new HotCache();
    cache.check({ identity: 'c:acme', windows: [minute], now: EPOCH }, EPOCH);
    cache.sweep(EPOCH + 59_999);
    expect(cache.windows.size).toBe(1);
    expect(cache.expiresAt()).toBe(EPOCH + 60_000);
    cache.sweep(EPOCH + 60_000);
    expect(cache.windows.size).toBe(0);
  });
});

describe('snapshot codec', () => {
  it('round-trips windows, as a value and as JSON text, and drops what is malformed', () => {
    const windows = new Map<string, Cells>([
      [
        'a',
        new Map([
          [EPOCH + 7, 1],
          [EPOCH, 3],
          [EPOCH + 900, 2],
        ]),
      ],
      ['empty', new Map()],
    ]);
    const encoded = encodeWindows(windows);
    expect(encoded).toEqual([['a', [EPOCH, 3, 7, 1, 893, 2]]]);
    for (const form of [encoded, JSON.stringify(encoded)]) {
      expect([...(decodeWindows(form).get('a') ?? [])]).toEqual([
        [EPOCH, 3],
        [EPOCH + 7, 1],
        [EPOCH + 900, 2],
      ]);
    }
    expect(decodeWindows([['x', [1, 2, 3]], ['y', [1, 'z']], 5]).size).toBe(0);
    expect(decodeWindows('{not json').size).toBe(0);
  });
});

describe('ColdReload', () => {
  it('loads the snapshot once for every new window, never for windows storage had', async () => {
    const windows = new Map<string, Cells>([['stored', new Map([[1, 1]])]]);
    const reload = new ColdReload(windows, new Set(['stored']));
    let loads = 0;
    const source = {
      load: async () => {
        loads++;
        return new Map<string, Cells>([
          ['k', new Map([[10, 4]])],
          ['j', new Map([[11, 2]])],
          ['stored', new Map([[1, 9]])],
        ]);
      },
    };
    await reload.reload(['stored'], source, 50);
    expect(loads).toBe(0);
    await Promise.all([reload.reload(['k'], source, 50), reload.reload(['j'], source, 50)]);
    expect(loads).toBe(1);
    expect([...(windows.get('k') ?? [])]).toEqual([[10, 4]]);
    expect([...(windows.get('j') ?? [])]).toEqual([[11, 2]]);
    expect([...(windows.get('stored') ?? [])]).toEqual([[1, 1]]);
    await reload.reload(['new'], source, 50);
    expect(loads).toBe(1);
    expect(reload.outstanding()).toBe(false);
  });

  it('decides at once from an empty window and adds the load to it when it lands', async () => {
    const windows = new Map<string, Cells>();
    let finish: (snapshot: Map<string, Cells>) => void = () => {};
    const late = new Promise<Map<string, Cells>>((resolve) => {
      finish = resolve;
    });
    let loaded = 0;
    const reload = new ColdReload(windows, new Set());
    await reload.reload(['k'], { load: () => late, onLoaded: () => loaded++ });
    expect(windows.get('k')?.size).toBe(0);
    expect(reload.outstanding()).toBe(true);
    windows.get('k')?.set(10, 7);
    finish(
      new Map([
        [
          'k',
          new Map([
            [10, 3],
            [11, 1],
          ]),
        ],
      ]),
    );
    await late;
    await new Promise((resolve) => setImmediate(resolve));
    expect([...(windows.get('k') ?? [])]).toEqual([
      [10, 10],
      [11, 1],
    ]);
    expect(loaded).toBe(1);
    expect(reload.outstanding()).toBe(false);
  });
});

describe('save plan', () => {
  it('lets at most max(10, 1% of the limit) units go unsaved', () => {
    expect(unsavedLimit(3)).toBe(10);
    expect(unsavedLimit(100)).toBe(10);
    expect(unsavedLimit(10_000)).toBe(100);
    expect(unsavedLimit(1_500_000)).toBe(15_000);
  });

  it('saves an interval after the first unsaved change, clears rows that hold nothing at once, else sets no alarm (no sweep)', () => {
    const base = { now: EPOCH, unsentSince: null, expiresAt: EPOCH + 60_000, rows: 1 };
    expect(wantedAlarm({ ...base, unsavedSince: EPOCH - 500 })).toBe(
      EPOCH - 500 + SAVE_INTERVAL_MS,
    );
    expect(wantedAlarm({ ...base, unsavedSince: null, unsentSince: EPOCH - 5_000 })).toBe(EPOCH);
    // Before: a sweep alarm 60 s after the last cell stops counting (EPOCH + 120_000).
    expect(wantedAlarm({ ...base, unsavedSince: null })).toBeNull();
    const empty = { ...base, unsavedSince: null, expiresAt: Number.NEGATIVE_INFINITY };
    expect(wantedAlarm(empty)).toBe(EPOCH);
    expect(wantedAlarm({ ...empty, rows: 0 })).toBeNull();
  });

  it('backs off while Redis refuses the snapshot: 2, 4, then 8 s apart', () => {
    expect([1, 2, 3, 4, 20].map(retryDelayMs)).toEqual([2_000, 4_000, 8_000, 8_000, 8_000]);
    const base = { now: EPOCH, unsavedSince: null, expiresAt: EPOCH + 60_000, rows: 1 };
    expect(wantedAlarm({ ...base, unsentSince: EPOCH - 9_000, retryAt: EPOCH + 8_000 })).toBe(
      EPOCH + 8_000,
    );
  });
});

/** LimiterCore over plain maps: storage that outlives the instance, alarms run by hand. */
function memoryObject(redis?: SnapshotRedis) {
  const entries = new Map<string, unknown>();
  const clock = { now: EPOCH };
  const billed = { rows: 0, alarms: 0 };
  let alarm: number | null = null;
  const runtime: LimiterRuntime = {
    now: () => clock.now,
    storage: {
      put: (writes) => {
        for (const [k, v] of Object.entries(writes)) {
          entries.set(k, structuredClone(v));
          billed.rows++;
        }
      },
      delete: (names) => {
        for (const n of names) if (entries.delete(n)) billed.rows++;
      },
      setAlarm: (at) => {
        alarm = at;
        billed.rows++;
        billed.alarms++;
      },
    },
    redis: () => redis,
  };
  const start = () => new LimiterCore(runtime, { entries: [...entries], alarmAt: alarm });
  return {
    entries,
    clock,
    billed,
    runtime,
    start,
    alarmAt: () => alarm,
    /** Runs the alarm if it is due, as the runtime does. */
    async tick(core: LimiterCore) {
      if (alarm !== null && alarm <= clock.now) {
        alarm = null;
        await core.alarm();
      }
    },
  };
}

describe('LimiterCore', () => {
  it('writes storage per batch: 200 decisions in 1 s cost one row and one alarm', async () => {
    const o = memoryObject();
    const core = o.start();
    const windows: WindowSpec[] = [{ id: 'minute', limit: 100_000, windowMs: 60_000 }];
    for (let i = 0; i < 200; i++) {
      o.clock.now = EPOCH + i * 5;
      await core.check({ identity: 'c:b', windows, now: o.clock.now });
    }
    expect(o.billed.rows).toBe(1);
    expect(o.alarmAt()).toBe(EPOCH + SAVE_INTERVAL_MS);
    o.clock.now = EPOCH + SAVE_INTERVAL_MS;
    await o.tick(core);
    // The save (one row) and no alarm after it (before: a sweep alarm, a third row).
    expect(o.billed).toEqual({ rows: 2, alarms: 1 });
    expect(o.alarmAt()).toBeNull();
    expect([...o.entries.keys()]).toEqual([rowName(0)]);
    const restarted = o.start();
    const peek = await restarted.check({
      identity: 'c:b',
      windows,
      consume: false,
      now: o.clock.now,
    });
    expect(peek.windows[0]?.used).toBe(200);
  });

  it('saves within the decision once a window holds its unsaved limit', async () => {
    const o = memoryObject();
    const core = o.start();
    const windows: WindowSpec[] = [{ id: 'minute', limit: 100, windowMs: 60_000 }];
    for (let i = 0; i < unsavedLimit(100); i++) {
      await core.check({ identity: 'c:s', windows, now: EPOCH + i });
    }
    expect(core.unsavedUnits()).toBe(0);
    expect(o.entries.has(rowName(0))).toBe(true);
  });

  it('forgets at most unsavedLimit - 1 units per window when it crashes at any instant', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(5, 100, 1_000, 20_000),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 400 }), fc.integer({ min: 1, max: 3 })), {
          minLength: 1,
          maxLength: 150,
        }),
        fc.nat(),
        async (limit, steps, crashPick) => {
          const o = memoryObject();
          let core = o.start();
          const windows: WindowSpec[] = [{ id: 'w', limit, windowMs: 60_000 }];
          const crashAt = crashPick % steps.length;
          let allowed = 0;
          for (const [i, [gap, cost]] of steps.entries()) {
            o.clock.now += gap;
            await o.tick(core);
            const r = await core.check({ identity: 'c:x', windows, cost, now: o.clock.now });
            if (r.allowed) allowed += cost;
            if (i === crashAt) {
              core = o.start();
              const seen = await core.check({
                identity: 'c:x',
                windows,
                consume: false,
                now: o.clock.now,
              });
              const lost = allowed - (seen.windows[0]?.used ?? 0);
              expect(lost).toBeGreaterThanOrEqual(0);
              expect(lost).toBeLessThanOrEqual(unsavedLimit(limit) - 1);
              return;
            }
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('saves a slot taken within the decision; a slot given back waits (held until its lease ends)', async () => {
    const o = memoryObject();
    let core = o.start();
    const windows: WindowSpec[] = [
      { id: 'concurrency', kind: 'concurrency', limit: 1, windowMs: 60_000 },
    ];
    const request = { identity: 'c:slots', windows, now: EPOCH };
    expect((await core.check({ ...request, slotToken: 7 })).allowed).toBe(true);
    expect(o.entries.has(rowName(0))).toBe(true);
    core = o.start();
    expect((await core.check({ ...request, slotToken: 8 })).allowed).toBe(false);
    const rows = o.billed.rows;
    await core.release({ ...request, slotToken: 7 });
    expect(o.billed.rows - rows).toBeLessThanOrEqual(1); // the alarm, not a row
    core = o.start();
    expect((await core.check({ ...request, slotToken: 8 })).allowed).toBe(false);
    expect((await core.check({ ...request, now: EPOCH + 60_000, slotToken: 8 })).allowed).toBe(
      true,
    );
  });

  it('writes nothing for a lease call that only gives units back: the next save carries it, and a crash before that only counts more', async () => {
    const o = memoryObject();
    let core = o.start();
    const windows: WindowSpec[] = [{ id: 'minute', limit: 100, windowMs: 60_000 }];
    const request = { identity: 'c:back', windows, now: EPOCH };
    const grant = await core.lease(request, { units: 10, ttlMs: 2_000 });
    expect(grant.granted).toBe(10);
    const rows = o.billed.rows;
    const alarm = o.alarmAt();
    // The lease expired with one unit used: a return carries only its settlement.
    const refund = { units: 9, at: grant.at, used: 1, usedWithinMs: 5, ttlMs: 2_000 };
    const back = { ...request, now: EPOCH + 2_500 };
    await core.lease(back, { units: 0, ttlMs: 2_000, refunds: [refund] });
    expect(o.billed.rows).toBe(rows);
    expect(o.alarmAt()).toBe(alarm);
    expect(core.unsavedUnits()).toBe(0);
    const seen = async (c: LimiterCore, now: number) =>
      (await c.check({ ...request, consume: false, now })).windows[0]?.used;
    expect(await seen(core, EPOCH + 2_500)).toBe(1);
    // Lost in a crash: the ten leased units stay counted, never fewer than were served.
    expect(await seen(o.start(), EPOCH + 2_500)).toBe(10);
    // Kept: the next decision's save writes the refund too.
    await core.check({ ...request, now: EPOCH + 3_000 });
    o.clock.now = EPOCH + 3_000 + SAVE_INTERVAL_MS;
    await o.tick(core);
    core = o.start();
    expect(await seen(core, o.clock.now)).toBe(2);
  });

  it('saves a lease call that carries debt or grants units, as any decision', async () => {
    const o = memoryObject();
    const core = o.start();
    const windows: WindowSpec[] = [{ id: 'minute', limit: 100_000, windowMs: 60_000 }];
    const request = { identity: 'c:debt', windows, now: EPOCH };
    await core.lease(request, { units: 0, ttlMs: 2_000, debt: 1 });
    expect(core.unsavedUnits()).toBe(1);
    expect(o.alarmAt()).toBe(EPOCH + SAVE_INTERVAL_MS);
  });

  it("keeps a quiet identity's row without an alarm; what stopped counting is nothing to a cold instance and goes with the next save", async () => {
    const o = memoryObject();
    const core = o.start();
    const windows: WindowSpec[] = [{ ...minute, limit: 2 }];
    const request = { identity: 'c:q', windows };
    for (const now of [EPOCH, EPOCH + 1]) await core.check({ ...request, now });
    o.clock.now = EPOCH + SAVE_INTERVAL_MS;
    await o.tick(core);
    expect(o.billed).toEqual({ rows: 2, alarms: 1 });
    expect(o.alarmAt()).toBeNull();
    // Two windows later, a cold instance reads the row: nothing of it counts.
    o.clock.now = EPOCH + 120_000;
    const cold = o.start();
    expect(
      (await cold.check({ ...request, consume: false, now: o.clock.now })).windows[0]?.used,
    ).toBe(0);
    expect((await cold.check({ ...request, now: o.clock.now })).allowed).toBe(true);
    o.clock.now += SAVE_INTERVAL_MS;
    await o.tick(cold);
    const restarted = o.start();
    expect(
      (await restarted.check({ ...request, consume: false, now: o.clock.now })).windows[0]?.used,
    ).toBe(1);
    expect(o.entries.size).toBe(1);
  });

  it('does not re-fire its alarm at once while only a lease given back unused is held (no alarm storm)', async () => {
    // Hybrid, with Redis down: the save's send fails and is retried from an alarm.
    const o = memoryObject({
      get: async () => null,
      set: async () => {
        throw new Error('Redis down');
      },
    });
    const core = o.start();
    const options = { writeBehind: { url: 'http://redis.test', token: 't' } };
    const windows: WindowSpec[] = [{ id: 'minute', limit: 100, windowMs: 60_000 }];
    const request = { identity: 'c:storm', windows };
    const a = await core.lease({ ...request, now: EPOCH }, { units: 5, ttlMs: 2_000 }, options);
    o.clock.now = EPOCH + SAVE_INTERVAL_MS;
    await o.tick(core);
    // Saved, not sent. Then the lease comes back unused: its cell holds 0 and nothing counts.
    expect(o.entries.size).toBe(1);
    o.clock.now += 500;
    await core.lease(
      { ...request, now: o.clock.now },
      { units: 0, ttlMs: 2_000, refunds: [{ units: a.granted, at: a.at, used: 0, ttlMs: 2_000 }] },
      options,
    );
    // The retry: nothing left to send, nothing counts.
    o.clock.now = o.alarmAt() ?? Number.NaN;
    await o.tick(core);
    const before = o.billed.alarms;
    for (let i = 0; i < 50; i++) {
      o.clock.now += 1;
      await o.tick(core);
    }
    // Before: an alarm due at once after every alarm (each a billed request and a row) until the
    // empty cell left the window: 1,000 a second for the busiest object of `npm run sim -- --seed 3`.
    expect(o.billed.alarms - before).toBe(0);
    expect(o.alarmAt()).toBeNull();
    expect(o.entries.size).toBe(0);
  });
  it('arms its save though storage named an alarm time that has passed', async () => {
    const o = memoryObject();
    // What an instance that crashed mid-alarm leaves: an alarm time in the past.
    const core = new LimiterCore(o.runtime, { entries: [], alarmAt: EPOCH - 1_000 });
    const windows: WindowSpec[] = [{ id: 'minute', limit: 100, windowMs: 60_000 }];
    await core.check({ identity: 'c:stale', windows, now: EPOCH });
    expect(o.alarmAt()).toBe(EPOCH + SAVE_INTERVAL_MS);
  });
});
