/** Verifies internal service tokens in constant time, with no I/O, so they work when stores fail. */
import { sha256Bytes } from './hash';

/** A configured token with the service name it identifies. */
interface ServiceToken {
  readonly name: string;
  readonly digest: Uint8Array;
}

/** Verifies a presented token; resolves to the service name or `undefined`. */
export type ServiceTokenVerifier = (presented: string) => Promise<string | undefined>;

/**
 * Builds a verifier from `SERVICE_TOKENS`: comma-separated `token` or `name=token` entries.
 * Both sides are hashed first, so the comparison is of equal-length digests and the time taken
 * says nothing about the token's length or prefix; every configured token is compared.
 * @example createServiceTokenVerifier('billing=s3cret,search=t0ken')
 */
export function createServiceTokenVerifier(config: string | undefined): ServiceTokenVerifier {
  const entries = (config ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)
    .map((entry, i) => {
      const eq = entry.indexOf('=');
      return eq > 0
        ? { name: entry.slice(0, eq), token: entry.slice(eq + 1) }
        : { name: `service-${i + 1}`, token: entry };
    });
  const tokens: Promise<ServiceToken[]> = Promise.all(
    entries.map(async (e) => ({ name: e.name, digest: await sha256Bytes(e.token) })),
  );
  return async (presented) => {
    const digest = await sha256Bytes(presented);
    let match: string | undefined;
    for (const t of await tokens) {
      if (timingSafeEqual(digest, t.digest) && match === undefined) match = t.name;
    }
    return match;
  };
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
