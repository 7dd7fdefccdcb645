/**
 * How the limiter object lays its identity out in Durable Object storage (documented in
 * docs/storage-schema.md): one row, `snap|0`, holding every window of the identity
 * (`snapshot-codec.ts`), rewritten whole when the object saves — once per batch of decisions, not
 * per decision. An identity too big for one value spills into `snap|1`, `snap|2`, ... Entries of
 * the earlier layout (`<window key>|<cell>` -> count, `wb:pending`) still load, and are deleted by
 * the first save.
 */
import type { Cells } from '../limiter/algorithm';
import { decodeWindows, type EncodedWindow, encodeWindows } from './snapshot-codec';

/** Prefix of the snapshot rows. */
export const SNAPSHOT_PREFIX = 'snap|';

/** JSON length a row is filled to before the next row starts (storage values hold 128 KiB). */
export const ROW_CHARS = 100_000;

/** What one snapshot row holds. */
export interface SnapshotRow {
  readonly v: 1;
  /** The identity whose windows these are (the alarm needs it to name the Redis snapshot). */
  readonly identity: string;
  /** The object writes this identity behind to Redis (hybrid): a restart still owes it a copy. */
  readonly hybrid: boolean;
  readonly windows: EncodedWindow[];
}

/** Name of the `i`th snapshot row. */
export function rowName(i: number): string {
  return `${SNAPSHOT_PREFIX}${i}`;
}

/** The rows of one snapshot: windows packed in order, about {@link ROW_CHARS} each. */
export function snapshotRows(
  identity: string,
  hybrid: boolean,
  windows: Iterable<readonly [string, Cells]>,
): Record<string, SnapshotRow> {
  const rows: Record<string, SnapshotRow> = {};
  let current: EncodedWindow[] = [];
  let chars = 0;
  let n = 0;
  const close = () => {
    rows[rowName(n++)] = { v: 1, identity, hybrid, windows: current };
    current = [];
    chars = 0;
  };
  for (const encoded of encodeWindows(windows)) {
    const size = encoded[0].length + 8 * encoded[1].length;
    if (current.length && chars + size > ROW_CHARS) close();
    current.push(encoded);
    chars += size;
  }
  if (current.length) close();
  return rows;
}

/** What a fresh object learns from its storage (`storage.list()`). */
export interface StoredState {
  readonly windows: Map<string, Cells>;
  readonly identity?: string;
  readonly hybrid: boolean;
  /** Snapshot rows there are. */
  readonly rows: number;
  /** Entries of the earlier layout, to delete with the next save. */
  readonly legacy: string[];
}

/** Reads every entry of the object's storage; entries in no known shape are ignored. */
export function stateFromEntries(entries: Iterable<[string, unknown]>): StoredState {
  const windows = new Map<string, Cells>();
  const earlier = new Map<string, Cells>();
  const legacy: string[] = [];
  let identity: string | undefined;
  let hybrid = false;
  let rows = 0;
  for (const [name, value] of entries) {
    if (name.startsWith(SNAPSHOT_PREFIX)) {
      if (!isRow(value)) continue;
      rows++;
      identity = value.identity;
      hybrid ||= value.hybrid;
      for (const [key, cells] of decodeWindows(value.windows)) windows.set(key, cells);
      continue;
    }
    legacy.push(name);
    const cut = name.lastIndexOf('|');
    const cell = Number(name.slice(cut + 1));
    if (cut < 0 || !Number.isSafeInteger(cell) || typeof value !== 'number') continue;
    const key = name.slice(0, cut);
    let cells = earlier.get(key);
    if (!cells) {
      cells = new Map();
      earlier.set(key, cells);
    }
    cells.set(cell, value);
  }
  // A snapshot row is newer than any entry of the earlier layout.
  for (const [key, cells] of earlier) if (!windows.has(key)) windows.set(key, cells);
  return { windows, ...(identity ? { identity } : {}), hybrid, rows, legacy };
}

function isRow(value: unknown): value is SnapshotRow {
  if (typeof value !== 'object' || value === null) return false;
  const row = value as Partial<SnapshotRow>;
  return row.v === 1 && typeof row.identity === 'string' && Array.isArray(row.windows);
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
