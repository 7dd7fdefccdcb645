/**
 * The sliding window's rules for a copy of its cells kept elsewhere (the hybrid store's Redis
 * snapshot, pure): when a window's cells stop counting, and how they may be coarsened to keep the
 * copy small without ever counting less than the object did.
 */
import type { Cells } from '../../algorithm';
import { parseWindowKey } from './keys';

/** Cells per window a coarsened snapshot keeps at most (about; a window spans this many groups). */
export const SNAPSHOT_CELLS = 100;

/**
 * Epoch ms from which no cell of the window stored under `key` counts any more (`-Infinity` when
 * the window is empty or the key is not a window's): a cell `b` of width `w` stops counting at
 * `(b + 1) * w + window - 1` (`bucketExpiry`).
 */
export function windowExpiresAt(key: string, cells: Cells): number {
  const geometry = parseWindowKey(key);
  let latest = Number.NEGATIVE_INFINITY;
  if (!geometry) return latest;
  for (const [b, n] of cells) if (n !== 0 && b > latest) latest = b;
  return latest === Number.NEGATIVE_INFINITY
    ? latest
    : (latest + 1) * geometry.width + geometry.windowMs - 1;
}

/**
 * A coarsened copy of a window's cells: the window is cut into groups of `g` cells
 * (`g = ceil(window / width / SNAPSHOT_CELLS)`), and each group's count is moved to the group's
 * last cell. Moving a count to a later cell only makes it count longer (a window counts every cell
 * from its oldest on), so a copy read back never counts less than the object did at any instant,
 * totals agree, and a unit counts at most `(g - 1) * width` ms — about 1% of the window — longer.
 * Cells of keys that are not a window's are copied unchanged.
 */
export function coarsenWindow(key: string, cells: Cells): Cells {
  const geometry = parseWindowKey(key);
  if (!geometry) return new Map(cells);
  const group = Math.max(1, Math.ceil(geometry.windowMs / geometry.width / SNAPSHOT_CELLS));
  const out: Cells = new Map();
  for (const [b, n] of cells) {
    if (n === 0) continue;
    const last = (Math.floor(b / group) + 1) * group - 1;
    out.set(last, (out.get(last) ?? 0) + n);
  }
  return out;
}
