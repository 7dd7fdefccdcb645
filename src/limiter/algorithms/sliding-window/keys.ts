/**
 * The sliding window's key layout (documented in docs/storage-schema.md):
 *
 * | key                                   | type | holds                                   |
 * |---------------------------------------|------|-----------------------------------------|
 * | `el:{<identity>}:<window-id>:<ms>:<w>` | hash | bucket index -> count, PEXPIRE window+w |
 *
 * `<w>` is the bucket width in ms (1 = exact, see arithmetic.ts), so a limit change that changes
 * the width starts a fresh window instead of misreading the old buckets. The braces are a Redis
 * Cluster hash tag: every window of one identity lives in one slot, so one Lua script may touch
 * them all atomically.
 */
import type { WindowSpec } from '../../contract';
import { bucketWidth } from './arithmetic';

/** Redis key of one window's counters for one identity. */
export function windowKey(identity: string, spec: WindowSpec): string {
  return `el:{${identity}}:${spec.id}:${spec.windowMs}:${bucketWidth(spec.windowMs, spec.limit)}`;
}

/** Window length and bucket width read back from a key made by {@link windowKey}. */
export function parseWindowKey(key: string): { windowMs: number; width: number } | undefined {
  const parts = key.split(':');
  const width = Number(parts.at(-1));
  const windowMs = Number(parts.at(-2));
  return Number.isSafeInteger(width) && Number.isSafeInteger(windowMs) && width > 0
    ? { windowMs, width }
    : undefined;
}
