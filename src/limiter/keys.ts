/**
 * Identity keys: who is counted. `c:<customerId>`, `ip:<address>` or `guess:<address>`; every
 * algorithm builds its window keys from one of these (see `algorithm.ts`).
 */

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

/**
 * Redis key of the hybrid store's snapshot of one identity (every shared window, compact, written
 * by the identity's Durable Object alone). The braces are the identity's Cluster hash tag, as in
 * the window keys.
 */
export function snapshotKey(identity: string): string {
  return `el:{${identity}}:snap`;
}
