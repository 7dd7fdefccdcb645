/**
 * The sliding window's merge rule for write-behind: bucket counts add up, so batched deltas are
 * merged with HINCRBY, and each key lives one window plus one bucket after its last write. A
 * batch's units are written to its latest bucket (see {@link coalesce}): one HINCRBY per window
 * per batch instead of one per bucket, as Upstash bills every command the script runs.
 */
import type { PendingDeltas, ScriptCall } from '../../algorithm';
import { bucketWidth } from './arithmetic';
import { parseWindowKey } from './keys';

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

/** SHA-1 of MERGE_SCRIPT, pinned; registry.test.ts recomputes every pinned script's. */
export const MERGE_SHA1 = '07ee8bb84daafcb77e0902dfa0fe9cd7fdaf7387';

/**
 * One batch's deltas with every positive delta moved to the latest bucket that gets one; negative
 * deltas (lease refunds) stay where they are. Moving a count to a later bucket only makes it
 * count longer (a window counts every bucket from its oldest on, later ones included), so what
 * Redis holds is never less than the object counted, at any instant, and the totals agree: a cold
 * reload from Redis may count a unit up to one batch (the flush interval) longer, never shorter.
 */
export function coalesce(deltas: ReadonlyMap<number, number>): Map<number, number> {
  let latest = Number.NEGATIVE_INFINITY;
  let positive = 0;
  const out = new Map<number, number>();
  for (const [bucket, units] of deltas) {
    if (units > 0) {
      positive += units;
      latest = Math.max(latest, bucket);
    } else if (units < 0) {
      out.set(bucket, units);
    }
  }
  if (positive > 0) out.set(latest, (out.get(latest) ?? 0) + positive);
  return out;
}

/** KEYS and ARGV for {@link MERGE_SCRIPT}, each key's deltas coalesced. */
export function mergeArguments(pending: PendingDeltas): ScriptCall {
  const keys: string[] = [];
  const args: string[] = [];
  for (const [key, { windowMs, deltas }] of pending) {
    const merged = coalesce(deltas);
    keys.push(key);
    const width = parseWindowKey(key)?.width ?? bucketWidth(windowMs);
    args.push(String(windowMs + width), String(merged.size));
    for (const [bucket, units] of merged) args.push(String(bucket), String(units));
  }
  return { keys, args };
}
