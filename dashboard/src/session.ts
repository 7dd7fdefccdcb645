/** Credentials live in sessionStorage only: gone when the tab closes, never in localStorage or cookies. */

const KEYS = { customer: 'edgelimit.apiKey', operator: 'edgelimit.adminToken' } as const;

/** Which credential: a customer's API key or the operator's admin token. */
export type Role = keyof typeof KEYS;

/** The stored credential for a role, if any (and if storage is available at all). */
export function readCredential(role: Role): string | undefined {
  try {
    return window.sessionStorage.getItem(KEYS[role]) ?? undefined;
  } catch {
    return undefined;
  }
}

/** Stores (or, with `undefined`, forgets) the credential for a role. */
export function writeCredential(role: Role, value: string | undefined): void {
  try {
    if (value === undefined) window.sessionStorage.removeItem(KEYS[role]);
    else window.sessionStorage.setItem(KEYS[role], value);
  } catch {
    // Storage disabled (private mode): the session lasts until reload, which is acceptable.
  }
}
