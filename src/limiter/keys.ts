/**
 * The only place rate-limit keys are built. Key schema (documented in docs/storage-schema.md):
 *
 * | key                                   | type | holds                                   |
 * |---------------------------------------|------|-----------------------------------------|
 * | `el:{<identity>}:<window-id>:<ms>:<w>` | hash | bucket index -> count, PEXPIRE window+w |
 *
 * `<w>` is the bucket width in ms (1 = exact, see sliding-window.ts), so a limit change that
 * changes the width starts a fresh window instead of misreading the old buckets.
 *
 * `<identity>` is `c:<customerId>`, `ip:<address>` or `guess:<address>`. The braces are a Redis
 * Cluster hash tag: every window of one identity lives in one slot, so one Lua script may touch
 * them all atomically.
 */
import { bucketWidth, type WindowSpec } from './sliding-window';

const UNSAFE = /[{}\s]/g;

/** Identity of a rate-limited party. */
export type IdentityKey = `c:${string}` | `ip:${string}` | `guess:${string}`;

/** Builds the identity key of a customer. */
export function customerIdentity(customerId: string): IdentityKey {
  return `c:${customerId.replace(UNSAFE, '_')}`;
}

/** Builds the identity key of an anonymous client address. */
export function ipIdentity(ip: string): IdentityKey {
  return `ip:${ip.replace(UNSAFE, '_')}`;
}

/** Builds the identity key that counts failed API key guesses from one address. */
export function keyGuessIdentity(ip: string): IdentityKey {
  return `guess:${ip.replace(UNSAFE, '_')}`;
}

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
