/** The sliding window as an {@link Algorithm}: its pieces (arithmetic, Lua, lease, snapshot) in one object. */
import type { Algorithm, CellChange, Cells } from '../../algorithm';
import type { WindowSpec } from '../../contract';
import { checkAll, currentBucket, unitsOf } from './arithmetic';
import { parseWindowKey, windowKey } from './keys';
import { grantLease, type UnitChange } from './lease';
import { parseReply, scriptCall } from './redis-call';
import { SLIDING_WINDOW_SCRIPT, SLIDING_WINDOW_SHA1 } from './script';
import { coarsenWindow, windowExpiresAt } from './snapshot';

/** Exact sliding log up to 1000 units per window, 1000 buckets per window above (see arithmetic.ts). */
export const slidingWindow: Algorithm = {
  name: 'sliding-window',
  key: windowKey,
  check(specs, cells, now, cost, consume) {
    const result = checkAll(specs, cells, now, cost, consume);
    const recorded = result.allowed && consume && cost > 0;
    if (!recorded) return { result, changes: [] };
    // Windows the origin charges record nothing up front.
    const recording = specs.filter((s) => unitsOf(s, cost) > 0);
    return { result, changes: cellChanges(recording, [{ at: now, units: cost }]) };
  },
  lease(specs, cells, now, ask) {
    const { grant, changes } = grantLease(specs, cells, now, ask);
    return { result: grant, changes: cellChanges(specs, changes) };
  },
  expire(key: string, cells: Cells, now: number) {
    const geometry = parseWindowKey(key);
    if (!geometry) return [];
    const oldest = Math.floor((now - geometry.windowMs + 1) / geometry.width);
    const dropped: number[] = [];
    for (const b of cells.keys()) {
      if (b < oldest) {
        cells.delete(b);
        dropped.push(b);
      }
    }
    return dropped;
  },
  script: { name: 'sliding-window', script: SLIDING_WINDOW_SCRIPT, sha1: SLIDING_WINDOW_SHA1 },
  scriptCall,
  parseReply,
  expiresAt: windowExpiresAt,
  coarsen: coarsenWindow,
};

/** Unit changes at instants, as the bucket of each window each one lands in. */
function cellChanges(specs: readonly WindowSpec[], changes: readonly UnitChange[]): CellChange[] {
  return specs.flatMap((spec) =>
    changes.map((c) => ({
      window: spec.id,
      cell: currentBucket(c.at, spec.windowMs, spec.limit),
      delta: c.units,
    })),
  );
}
