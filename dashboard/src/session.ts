/**
 * Credentials live in sessionStorage only: gone when the tab closes, never in localStorage or
 * cookies. Each is stored for one API base, so a link with a different `?api=` never receives a
 * key that was entered for another worker.
 */

const PREFIX = { customer: 'edgelimit.apiKey', operator: 'edgelimit.adminToken' } as const;

/** Which credential: a customer's API key or the operator's admin token. */
export type Role = keyof typeof PREFIX;

function storageKey(role: Role, apiBase: string): string {
  return `${PREFIX[role]}@${apiBase}`;
}

/** The credential stored for a role and API base, if any (and if storage is available at all). */
export function readCredential(role: Role, apiBase: string): string | undefined {
  try {
    return window.sessionStorage.getItem(storageKey(role, apiBase)) ?? undefined;
  } catch {
    return undefined;
  }
}

/** Stores (or, with `undefined`, forgets) the credential for a role and API base. */
export function writeCredential(role: Role, apiBase: string, value: string | undefined): void {
  try {
    if (value === undefined) window.sessionStorage.removeItem(storageKey(role, apiBase));
    else window.sessionStorage.setItem(storageKey(role, apiBase), value);
  } catch {
    // Storage disabled (private mode): the session lasts until reload, which is acceptable.
  }
}
