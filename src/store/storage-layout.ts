/**
 * How the hot cache lays an identity's windows out in Durable Object storage (documented in
 * docs/storage-schema.md): one small entry per non-empty cell, `<window key>|<cell>` -> count, so
 * a request writes only what it changed; `wb:pending` holds write-behind deltas not yet in Redis.
 */
import type { Cells } from '../limiter/algorithm';

/** Prefix every window entry has (window keys start with `el:`). */
export const CELL_PREFIX = 'el:';

/** Entry of the write-behind deltas that still wait for Redis. */
export const PENDING_KEY = 'wb:pending';

/** Storage entry name of one cell of one window. */
export function cellEntry(key: string, cell: number): string {
  return `${key}|${cell}`;
}

/**
 * Window cells from stored entries (`storage.list({ prefix: CELL_PREFIX })`). Entries in any other
 * shape (an older layout) are ignored rather than misread.
 */
export function cellsFromEntries(entries: Iterable<[string, unknown]>): Map<string, Cells> {
  const windows = new Map<string, Cells>();
  for (const [name, count] of entries) {
    const cut = name.lastIndexOf('|');
    const cell = Number(name.slice(cut + 1));
    if (cut < 0 || !Number.isSafeInteger(cell) || typeof count !== 'number') continue;
    const key = name.slice(0, cut);
    let cells = windows.get(key);
    if (!cells) {
      cells = new Map();
      windows.set(key, cells);
    }
    cells.set(cell, count);
  }
  return windows;
}

/** Storage deletes go in batches of at most this many keys (the storage API's limit). */
export const DELETE_BATCH = 128;

/** `names` cut into batches the storage API accepts. */
export function deleteBatches(names: readonly string[]): string[][] {
  const batches: string[][] = [];
  for (let i = 0; i < names.length; i += DELETE_BATCH)
    batches.push(names.slice(i, i + DELETE_BATCH));
  return batches;
}
