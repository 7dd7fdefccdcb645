/**
 * A compact, JSON-safe form of one identity's windows, shared by the object's storage rows and the
 * hybrid store's Redis snapshot: `[key, [cell, count, gap, count, ...]]` per window, cells in
 * ascending order, each after the first as the gap from the one before (a window's cells are
 * close together: small numbers). Plain code.
 */
import type { Cells } from '../limiter/algorithm';

/** One window: its key and its cells, delta-encoded. */
export type EncodedWindow = [key: string, cells: number[]];

/** Encodes windows (empty ones are left out). */
export function encodeWindows(windows: Iterable<readonly [string, Cells]>): EncodedWindow[] {
  const out: EncodedWindow[] = [];
  for (const [key, cells] of windows) {
    const sorted = [...cells].filter(([, n]) => n !== 0).sort((a, b) => a[0] - b[0]);
    if (!sorted.length) continue;
    const flat: number[] = [];
    let previous = 0;
    sorted.forEach(([cell, n], i) => {
      flat.push(i === 0 ? cell : cell - previous, n);
      previous = cell;
    });
    out.push([key, flat]);
  }
  return out;
}

/**
 * Decodes what {@link encodeWindows} made, from a value or its JSON text; anything malformed (a
 * window whose cells are not pairs of safe integers, a value of another shape) is left out rather
 * than misread.
 */
export function decodeWindows(value: unknown): Map<string, Cells> {
  const windows = new Map<string, Cells>();
  let parsed = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch {
      return windows;
    }
  }
  if (!Array.isArray(parsed)) return windows;
  for (const entry of parsed) {
    if (!Array.isArray(entry) || typeof entry[0] !== 'string' || !Array.isArray(entry[1])) continue;
    const [key, flat] = entry as [string, unknown[]];
    if (flat.length % 2 !== 0 || !flat.every((x) => Number.isSafeInteger(x))) continue;
    const cells: Cells = new Map();
    let cell = 0;
    for (let i = 0; i < flat.length; i += 2) {
      cell = i === 0 ? Number(flat[i]) : cell + Number(flat[i]);
      cells.set(cell, Number(flat[i + 1]));
    }
    windows.set(key, cells);
  }
  return windows;
}
