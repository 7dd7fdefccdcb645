/** Verifies internal service tokens in constant time, with no I/O, so they work when stores fail. */
import { sha256Bytes } from './hash';

/** A configured token with the service name it identifies. */
interface ServiceToken {
  readonly name: string;
  readonly digest: Uint8Array;
}

/** Verifies a presented token; resolves to the service name or `undefined`. */
export type ServiceTokenVerifier = (presented: string) => Promise<string | undefined>;

/** Shortest token accepted: anything shorter could be guessed, so it is a settings error. */
export const MIN_TOKEN_LENGTH = 16;

/** A configured token and the service name it stands for. */
export interface TokenEntry {
  readonly name: string;
  readonly token: string;
}

/**
 * Parses `SERVICE_TOKENS`: comma-separated `token` or `name=token` entries (unnamed ones are
 * `service-<position>`). Strict: an empty entry, an empty or short token, or a name used twice
 * throws an Error saying which entry, since any of them could become a bypass nobody meant.
 * Unset or blank means no service tokens.
 * @example parseServiceTokens('billing=0123456789abcdef0123') // [{ name: 'billing', token: ... }]
 */
export function parseServiceTokens(config: string | undefined): TokenEntry[] {
  if (config === undefined || config.trim() === '') return [];
  const names = new Set<string>();
  return config.split(',').map((raw, i) => {
    const entry = raw.trim();
    const eq = entry.indexOf('=');
    const name = eq > 0 ? entry.slice(0, eq).trim() : `service-${i + 1}`;
    const token = eq > 0 ? entry.slice(eq + 1).trim() : entry;
    const where = `entry ${i + 1}${eq > 0 ? ` (${name})` : ''}`;
    if (entry === '') throw new Error(`${where} is empty`);
    checkToken(token, where);
    if (names.has(name)) throw new Error(`${where}: the name ${name} is used twice`);
    names.add(name);
    return { name, token };
  });
}

/** Throws unless `token` is long enough to be a secret; `where` names it in the message. */
export function checkToken(token: string, where: string): void {
  if (token.length < MIN_TOKEN_LENGTH) {
    throw new Error(
      `${where}: the token is ${token.length === 0 ? 'empty' : `${token.length} characters`}, at least ${MIN_TOKEN_LENGTH} are needed`,
    );
  }
}

/**
 * Builds a verifier for `entries`. Both sides are hashed first, so the comparison is of
 * equal-length digests and the time taken says nothing about the token's length or prefix;
 * every configured token is compared. An empty presented token never matches.
 * @example createTokenVerifier([{ name: 'admin', token: env.ADMIN_TOKEN }])
 */
export function createTokenVerifier(entries: readonly TokenEntry[]): ServiceTokenVerifier {
  const tokens: Promise<ServiceToken[]> = Promise.all(
    entries.map(async (e) => ({ name: e.name, digest: await sha256Bytes(e.token) })),
  );
  return async (presented) => {
    if (presented.length === 0) return undefined;
    const digest = await sha256Bytes(presented);
    let match: string | undefined;
    for (const t of await tokens) {
      if (timingSafeEqual(digest, t.digest) && match === undefined) match = t.name;
    }
    return match;
  };
}

/**
 * Builds a verifier from a `SERVICE_TOKENS` value (see {@link parseServiceTokens}, which throws
 * on a bad list).
 * @example createServiceTokenVerifier('billing=0123456789abcdef0123,search=fedcba9876543210abcd')
 */
export function createServiceTokenVerifier(config: string | undefined): ServiceTokenVerifier {
  return createTokenVerifier(parseServiceTokens(config));
}

function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  const subtle = crypto.subtle as SubtleCrypto & {
    timingSafeEqual?: (a: ArrayBufferView, b: ArrayBufferView) => boolean;
  };
  if (subtle.timingSafeEqual) return a.length === b.length && subtle.timingSafeEqual(a, b);
  // Outside workerd (Node scripts): a branch-free fold over equal-length digests.
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}
