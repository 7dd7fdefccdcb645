/**
 * Write-behind batching for the hybrid store: deltas per window key and bucket, flushed to Redis
 * in one script call when enough units piled up or enough time passed (pure bookkeeping here).
 */
import { parseWindowKey } from '../limiter/keys';
import { bucketWidth } from '../limiter/sliding-window';

/** Flush when this many units are pending... */
export const FLUSH_UNITS = 100;
/** ...or this long after the first pending unit, whichever comes first. */
export const FLUSH_INTERVAL_MS = 2_000;

/** Pending deltas: window key -> { windowMs + one bucket (the key's TTL), bucket -> units }. */
export type Pending = Map<string, { windowMs: number; deltas: Map<number, number> }>;

/** Adds `units` to `bucket` of `key`. Returns the total pending units. */
export function addDelta(
  pending: Pending,
  key: string,
  windowMs: number,
  bucket: number,
  units: number,
): number {
  let entry = pending.get(key);
  if (!entry) {
    entry = { windowMs, deltas: new Map() };
    pending.set(key, entry);
  }
  entry.deltas.set(bucket, (entry.deltas.get(bucket) ?? 0) + units);
  return pendingUnits(pending);
}

/** Total units waiting to be written. */
export function pendingUnits(pending: Pending): number {
  let total = 0;
  for (const { deltas } of pending.values()) for (const n of deltas.values()) total += n;
  return total;
}

/** KEYS and ARGV for {@link MERGE_SCRIPT}. */
export function mergeArguments(pending: Pending): { keys: string[]; args: string[] } {
  const keys: string[] = [];
  const args: string[] = [];
  for (const [key, { windowMs, deltas }] of pending) {
    keys.push(key);
    const width = parseWindowKey(key)?.width ?? bucketWidth(windowMs);
    args.push(String(windowMs + width), String(deltas.size));
    for (const [bucket, units] of deltas) args.push(String(bucket), String(units));
  }
  return { keys, args };
}

/** Serializable form, kept in Durable Object storage so a restart still flushes. */
export type StoredPending = [key: string, windowMs: number, deltas: [number, number][]][];

export function toStored(pending: Pending): StoredPending {
  return [...pending].map(([key, { windowMs, deltas }]) => [key, windowMs, [...deltas]]);
}

export function fromStored(stored: StoredPending | undefined): Pending {
  return new Map(
    (stored ?? []).map(([key, windowMs, deltas]) => [key, { windowMs, deltas: new Map(deltas) }]),
  );
}

/**
 * Adds the batched deltas with HINCRBY and refreshes each key's TTL, in one round trip.
 * Per key i: ARGV = ttl ms, number of pairs n, then n (bucket, units) pairs.
 */
export const MERGE_SCRIPT = `-- edgelimit write-behind merge v1
local a = 1
for i = 1, #KEYS do
  local ttl   = tonumber(ARGV[a])      -- window + one bucket, ms
  local pairs = tonumber(ARGV[a + 1])  -- how many (bucket, units) pairs follow
  a = a + 2
  for _ = 1, pairs do
    redis.call('HINCRBY', KEYS[i], ARGV[a], tonumber(ARGV[a + 1]))
    a = a + 2
  end
  redis.call('PEXPIRE', KEYS[i], ttl)
end
return #KEYS
`;

/** SHA-1 of MERGE_SCRIPT, pinned and checked by a test. */
export const MERGE_SHA1 = '07ee8bb84daafcb77e0902dfa0fe9cd7fdaf7387';
