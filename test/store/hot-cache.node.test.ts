/**
 * The Durable Object's plain modules, in Node with no Workers runtime: the decision core, the
 * storage layout (entries written by today's layout load), cold reload and write-behind.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { windowKey } from '../../src/limiter/algorithms/sliding-window/keys';
import type { WindowSpec } from '../../src/limiter/contract';
import { alarmAfterAlarm, alarmAfterCommit } from '../../src/store/alarm-plan';
import { ColdReload, cellsFromHash } from '../../src/store/cold-reload';
import { HotCache } from '../../src/store/hot-cache';
import { createMemoryStore } from '../../src/store/memory-store';
import { cellEntry, cellsFromEntries, PENDING_KEY } from '../../src/store/storage-layout';
import { FLUSH_INTERVAL_MS, WriteBehind } from '../../src/store/write-behind';
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

  it('owes storage exactly the cells a decision changed, and nothing for a rejection', () => {
    const cache = new HotCache();
    const request = { identity: 'c:acme', windows: [minute] };
    const key = windowKey('c:acme', minute);
    const first = cache.check({ ...request, now: EPOCH }, EPOCH);
    expect(first.commit?.writes).toEqual({ [cellEntry(key, EPOCH)]: 1 });
    expect(first.commit?.deltas).toEqual([{ key, windowMs: 60_000, cell: EPOCH, delta: 1 }]);
    cache.check({ ...request, now: EPOCH }, EPOCH);
    cache.check({ ...request, now: EPOCH }, EPOCH);
    const rejected = cache.check({ ...request, now: EPOCH + 1 }, EPOCH + 1);
    expect(rejected.result.allowed).toBe(false);
    expect(rejected.commit).toBeUndefined();
  });

  it('loads entries in the layout stored today and ignores any other shape', () => {
    const key = windowKey('c:acme', minute);
    // Written by the object before the split: `<window key>|<bucket>` -> count.
    const stored: [string, unknown][] = [
      [`el:{c:acme}:minute:60000:1|${EPOCH}`, 2],
      [`el:{c:acme}:minute:60000:1|${EPOCH + 5}`, 1],
      ['el:{c:acme}:minute:60000:1|not-a-bucket', 9],
      ['el:{c:acme}:old-layout', 4],
    ];
    const cache = new HotCache(cellsFromEntries(stored));
    expect([...(cache.windows.get(key) ?? [])]).toEqual([
      [EPOCH, 2],
      [EPOCH + 5, 1],
    ]);
    const outcome = cache.check(
      { identity: 'c:acme', windows: [minute], now: EPOCH + 6 },
      EPOCH + 6,
    );
    expect(outcome.result.allowed).toBe(false);
    expect(outcome.result.windows[0]?.used).toBe(3);
  });

  it('sweeps expired cells into deletes and forgets empty windows', () => {
    const cache = new HotCache();
    cache.check({ identity: 'c:acme', windows: [minute], now: EPOCH }, EPOCH);
    const key = windowKey('c:acme', minute);
    expect(cache.sweep(EPOCH + 59_999)).toEqual([]);
    expect(cache.sweep(EPOCH + 60_000)).toEqual([cellEntry(key, EPOCH)]);
    expect(cache.windows.size).toBe(0);
  });
});

describe('ColdReload', () => {
  it('shares one load per window and drops what is not a count', async () => {
    const windows = new Map<string, Map<number, number>>();
    const reload = new ColdReload(windows);
    let loads = 0;
    const source = {
      load: async () => {
        loads++;
        return { '10': '4', '11': 2, junk: 'x', '12': '-1' };
      },
      flushes: () => 0,
    };
    await Promise.all([reload.reload(['k'], source, 50), reload.reload(['k'], source, 50)]);
    expect(loads).toBe(1);
    expect([...(windows.get('k') ?? [])]).toEqual([
      [10, 4],
      [11, 2],
    ]);
    expect([...cellsFromHash(null)]).toEqual([]);
  });

  it('decides at once from an empty window and merges the load when it lands', async () => {
    for (const [flushed, expected] of [
      // Counted meanwhile and not flushed: not in Redis yet, so they add up.
      [false, 10],
      // A flush ran meanwhile: Redis may hold them already, so the larger count is kept.
      [true, 7],
    ] as const) {
      const windows = new Map<string, Map<number, number>>();
      let finish: (hash: Record<string, number>) => void = () => {};
      const late = new Promise<Record<string, number>>((resolve) => {
        finish = resolve;
      });
      let flushes = 0;
      const persisted: string[] = [];
      await new ColdReload(windows).reload(['k'], {
        load: () => late,
        flushes: () => flushes,
        onLoaded: (key) => persisted.push(key),
      });
      expect(windows.get('k')?.size).toBe(0);
      windows.get('k')?.set(10, 7);
      if (flushed) flushes++;
      finish({ '10': 3, '11': 1 });
      await late;
      await new Promise((resolve) => setImmediate(resolve));
      expect([...(windows.get('k') ?? [])].sort()).toEqual([
        [10, expected],
        [11, 1],
      ]);
      expect(persisted).toEqual(['k']);
    }
  });
});

describe('WriteBehind', () => {
  it('keeps a failed batch, with what arrived meanwhile, for the next flush', async () => {
    const wb = new WriteBehind([['k', 1000, [[5, 2]]]]);
    const persisted: unknown[] = [];
    await wb.flush(
      {
        call: () => ({ keys: ['k'], args: [] }),
        send: async () => {
          wb.add('k', 1000, 5, 1);
          throw new Error('redis down');
        },
      },
      async (stored) => {
        persisted.push(stored);
      },
    );
    expect(wb.units()).toBe(3);
    expect(persisted).toEqual([[['k', 1000, [[5, 3]]]]]);
    const sent: string[][] = [];
    await wb.flush(
      {
        call: (pending) => ({ keys: [...pending.keys()], args: [] }),
        send: async (keys) => {
          sent.push(keys);
        },
      },
      async () => {},
    );
    expect(sent).toEqual([['k']]);
    expect(wb.units()).toBe(0);
  });

  it('is stored under the entry it always had', () => {
    expect(PENDING_KEY).toBe('wb:pending');
  });
});

describe('alarm plan', () => {
  it('flushes a full batch at once, else after the interval, else sweeps after the window', () => {
    expect(alarmAfterCommit(EPOCH, true, 100, 60_000)).toBe(EPOCH);
    expect(alarmAfterCommit(EPOCH, true, 1, 60_000)).toBe(EPOCH + FLUSH_INTERVAL_MS);
    expect(alarmAfterCommit(EPOCH, false, 0, 60_000)).toBe(EPOCH + 120_000);
    expect(alarmAfterAlarm(EPOCH, 0, 0)).toBeNull();
  });
});
