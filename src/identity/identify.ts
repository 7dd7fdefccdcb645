/** Turns a request into a verified caller, or a reason it has none. */
import type { Clock } from '../clock';
import type { ConfigStore } from '../policy/config-store';
import { clientSubject, readCredentials } from './credentials';
import type { FailedAttemptsGuard } from './failed-attempts';
import { sha256Hex } from './hash';
import type { KeyHasher } from './key-hasher';
import type { ServiceTokenVerifier } from './service-tokens';

/** Who is calling, verified. */
export type Caller =
  | { readonly kind: 'service'; readonly service: string; readonly ip: string }
  | {
      readonly kind: 'customer';
      readonly customerId: string;
      readonly keyHash: string;
      readonly ip: string;
    }
  | { readonly kind: 'anonymous'; readonly ip: string };

/** Why a request has no verified caller; each becomes a 401. */
export interface IdentityFailure {
  readonly code:
    | 'invalid-service-token'
    | 'unknown-api-key'
    | 'revoked-api-key'
    | 'malformed-api-key'
    | 'too-many-failures';
  readonly message: string;
  readonly ip: string;
}

export type Identity = { ok: true; caller: Caller } | { ok: false; failure: IdentityFailure };

/** Dependencies of {@link identify}. */
export interface IdentifyDeps {
  readonly verifyServiceToken: ServiceTokenVerifier;
  readonly config: Pick<ConfigStore, 'apiKey'>;
  /** Addresses over the failed-attempts limit; their keys are refused unread. */
  readonly failedAttempts?: Pick<FailedAttemptsGuard, 'blocked'>;
  readonly clock?: Clock;
  /** Hashes presented API keys (a per-isolate cache in the worker); default SHA-256 each time. */
  readonly hashKey?: KeyHasher;
  /** Where API keys are read from (`API_KEY_HEADERS`); default X-API-Key and Bearer. */
  readonly settings?: {
    readonly apiKeyHeaders: readonly string[];
    /** IPv6 prefix anonymous callers and failed attempts are counted by. */
    readonly anonymousIpv6Prefix: number;
  };
}

/**
 * Identifies the caller. Service tokens are checked first and without I/O; an invalid token is a
 * failure, never a fallback to anonymous.
 */
export async function identify(headers: Headers, deps: IdentifyDeps): Promise<Identity> {
  // The address as limits count it: canonical, an IPv6 caller by its network (default /64).
  const ip = clientSubject(headers, deps.settings?.anonymousIpv6Prefix);
  const presented = readCredentials(headers, deps.settings?.apiKeyHeaders);
  switch (presented.kind) {
    case 'service-token': {
      const service = await deps.verifyServiceToken(presented.token);
      return service
        ? { ok: true, caller: { kind: 'service', service, ip } }
        : fail('invalid-service-token', 'the X-Service-Token is not valid', ip);
    }
    case 'malformed':
      return fail('malformed-api-key', presented.message, ip);
    case 'none':
      return { ok: true, caller: { kind: 'anonymous', ip } };
    case 'api-key': {
      // Over the failed-attempts limit nothing is hashed or read: a right key gets the same
      // refusal as a wrong one, so the answer confirms no guess.
      if (deps.failedAttempts?.blocked(ip, deps.clock?.now() ?? Date.now())) {
        return fail('too-many-failures', 'too many failed attempts from this address', ip);
      }
      const keyHash = await (deps.hashKey ?? sha256Hex)(presented.key);
      const record = await deps.config.apiKey(keyHash);
      if (!record) return fail('unknown-api-key', 'the API key is not recognised', ip);
      if (record.revoked) return fail('revoked-api-key', 'the API key has been revoked', ip);
      return { ok: true, caller: { kind: 'customer', customerId: record.customerId, keyHash, ip } };
    }
  }
}

function fail(code: IdentityFailure['code'], message: string, ip: string): Identity {
  return { ok: false, failure: { code, message, ip } };
}
