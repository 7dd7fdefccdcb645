/**
 * The sliding window's merge rule for write-behind: bucket counts add up, so batched deltas are
 * merged with HINCRBY, and each key lives one window plus one bucket after its last write.
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

/** KEYS and ARGV for {@link MERGE_SCRIPT}. */
export function mergeArguments(pending: PendingDeltas): ScriptCall {
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
