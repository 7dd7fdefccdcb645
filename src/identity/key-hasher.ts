/**
 * The SHA-256 of presented API keys, remembered per isolate: a key is hashed the first time this
 * isolate sees it, not on every request (a digest, its hex and two promise hops per request on
 * the hot path otherwise). Bounded like every cache keyed by caller input, so guessed keys cost a
 * bounded amount of memory; the plaintext keys it holds are the ones callers sent this isolate.
 */
import { BoundedMap } from '../limiter/bounded-map';
import { sha256Hex } from './hash';

/**
 * Hashes an API key as the KV records are keyed (lowercase hex SHA-256): the hash itself when it
 * is remembered (no promise on the hot path), else a promise of it. Callers `await` either.
 */
export type KeyHasher = (key: string) => string | Promise<string>;

/** Default bound: as many keys as the config cache holds records. */
export const MAX_KEY_HASHES = 10_000;

/**
 * A hasher that remembers the last `max` keys it hashed.
 * @example const hashKey = createKeyHasher(); await hashKey('live-key-1') // '3a7b…'
 */
export function createKeyHasher(max = MAX_KEY_HASHES): KeyHasher {
  const known = new BoundedMap<string, string>(max);
  return (key) => {
    const hit = known.get(key);
    if (hit !== undefined) return hit;
    return sha256Hex(key).then((hash) => {
      known.set(key, hash);
      return hash;
    });
  };
}
