/** Reads the credentials a request presents, and says precisely what is wrong with bad ones. */

/** API keys we accept: printable, URL-safe, not absurdly short or long. */
const KEY_FORMAT = /^[A-Za-z0-9._~+/=-]{8,200}$/;

/** What a request presents. */
export type Presented =
  | { readonly kind: 'service-token'; readonly token: string }
  | { readonly kind: 'api-key'; readonly key: string }
  | { readonly kind: 'none' }
  | { readonly kind: 'malformed'; readonly message: string };

/**
 * Extracts credentials. `X-Service-Token` wins (an invalid one is never downgraded to a key or
 * anonymous), then `X-API-Key`, then `Authorization: Bearer`. Other `Authorization` schemes are
 * left for the origin.
 */
export function readCredentials(headers: Headers): Presented {
  const token = headers.get('x-service-token');
  if (token !== null) return { kind: 'service-token', token: token.trim() };

  const headerKey = headers.get('x-api-key');
  const auth = headers.get('authorization');
  const bearer = auth && /^bearer\s+/i.test(auth) ? auth.replace(/^bearer\s+/i, '').trim() : null;
  if (headerKey !== null && bearer !== null && headerKey.trim() !== bearer) {
    return {
      kind: 'malformed',
      message: 'X-API-Key and Authorization: Bearer carry different keys; send one of them',
    };
  }
  const key = headerKey !== null ? headerKey.trim() : bearer;
  if (key === null) return { kind: 'none' };
  if (key.length === 0) return { kind: 'malformed', message: 'the API key is empty' };
  if (!KEY_FORMAT.test(key)) {
    return {
      kind: 'malformed',
      message: `the API key is malformed: expected 8-200 characters of A-Z a-z 0-9 . _ ~ + / = -, got ${key.length} characters`,
    };
  }
  return { kind: 'api-key', key };
}

/** The client address Cloudflare saw; never a header the client can set past Cloudflare. */
export function clientIp(headers: Headers): string {
  const ip = headers.get('cf-connecting-ip')?.trim();
  return ip && /^[0-9A-Fa-f:.]{2,45}$/.test(ip) ? ip : 'unknown';
}
