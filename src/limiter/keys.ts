/**
 * The only place rate-limit keys are built. Key schema (documented in docs/storage-schema.md):
 *
 * | key                                   | type | holds                                   |
 * |---------------------------------------|------|-----------------------------------------|
 * | `el:{<identity>}:<window-id>:<ms>`    | hash | bucket index -> count, PEXPIRE window+w |
 *
 * `<identity>` is `c:<customerId>`, `ip:<address>` or `guess:<address>`. The braces are a Redis
 * Cluster hash tag: every window of one identity lives in one slot, so one Lua script may touch
 * them all atomically.
 */
import type { WindowSpec } from './sliding-window';

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
  return `el:{${identity}}:${spec.id}:${spec.windowMs}`;
}
