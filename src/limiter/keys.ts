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
