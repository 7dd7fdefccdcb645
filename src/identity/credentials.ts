/** Reads the credentials a request presents, and says precisely what is wrong with bad ones. */
import { DEFAULT_IPV6_PREFIX, limitSubject } from './ip-address';

/** API keys we accept: printable, URL-safe, not absurdly short or long. */
const KEY_FORMAT = /^[A-Za-z0-9._~+/=-]{8,200}$/;

/** What a request presents. */
export type Presented =
  | { readonly kind: 'service-token'; readonly token: string }
  | { readonly kind: 'api-key'; readonly key: string }
  | { readonly kind: 'none' }
  | { readonly kind: 'malformed'; readonly message: string };

/** Headers an API key is read from by default (`authorization` means `Authorization: Bearer`). */
export const DEFAULT_KEY_HEADERS = ['x-api-key', 'authorization'] as const;

/**
 * Extracts credentials. `X-Service-Token` wins (an invalid one is never downgraded to a key or
 * anonymous), then the API key headers in `keyHeaders` order (default `X-API-Key`, then
 * `Authorization: Bearer`). Other `Authorization` schemes, and `Authorization` altogether when it
 * is not in `keyHeaders` (an API whose clients send Bearer JWTs to the origin), are left for the
 * origin untouched.
 */
export function readCredentials(
  headers: Headers,
  keyHeaders: readonly string[] = DEFAULT_KEY_HEADERS,
): Presented {
  const token = headers.get('x-service-token');
  if (token !== null) return { kind: 'service-token', token: token.trim() };

  const found: { name: string; key: string }[] = [];
  for (const name of keyHeaders) {
    const value = headers.get(name);
    if (value === null) continue;
    if (name === 'authorization') {
      if (/^bearer\s+/i.test(value))
        found.push({ name: 'Authorization: Bearer', key: value.replace(/^bearer\s+/i, '').trim() });
    } else found.push({ name, key: value.trim() });
  }
  const key = found[0]?.key ?? null;
  if (found.some((f) => f.key !== key)) {
    const names = found.map((f) => (f.name === 'x-api-key' ? 'X-API-Key' : f.name));
    return {
      kind: 'malformed',
      message: `${names.join(' and ')} carry different keys; send one of them`,
    };
  }
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

/**
 * Who an unidentified or anonymous request is counted as: the client address in canonical form,
 * an IPv6 address by its network at `ipv6Prefix` bits (default /64), see ip-address.ts.
 * @example clientSubject(new Headers({ 'CF-Connecting-IP': '2001:DB8::1' })) // '2001:db8::/64'
 */
export function clientSubject(headers: Headers, ipv6Prefix = DEFAULT_IPV6_PREFIX): string {
  const ip = clientIp(headers);
  return ip === 'unknown' ? ip : limitSubject(ip, ipv6Prefix);
}
