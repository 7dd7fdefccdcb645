/** Builders for customers, keys and addresses that no other test (or earlier run) shares. */
import { sha256Hex } from '../../src/identity/hash';
import { kvKeys } from '../../src/policy/config-store';
import type { ApiKeyRecord, CustomerRecord } from '../../src/policy/records';

/** A short random id with a readable prefix, valid as a customer id. */
export function uniqueId(prefix = 't'): string {
  return `${prefix}-${crypto.randomUUID().slice(0, 12)}`;
}

/** A random private IPv4 address, so per-IP limits of different tests never meet. */
export function randomIp(): string {
  const [a = 0, b = 0, c = 0] = crypto.getRandomValues(new Uint8Array(3));
  return `10.${a}.${b}.${c}`;
}

/** A customer written straight to KV, as a person with `wrangler kv` would. */
export interface TestCustomer {
  readonly customerId: string;
  readonly key: string;
  /** `X-API-Key` header for this customer's key. */
  readonly headers: Record<string, string>;
}

/**
 * Writes a fresh customer record and an API key for it to `kv`.
 * @example const c = await createCustomer(env.CONFIG, { tier: 'free' });
 */
export async function createCustomer(
  kv: KVNamespace,
  record: CustomerRecord,
  options: { customerId?: string; revoked?: boolean } = {},
): Promise<TestCustomer> {
  const customerId = options.customerId ?? uniqueId('cust');
  const key = `test_${crypto.randomUUID().replaceAll('-', '')}`;
  const keyRecord: ApiKeyRecord = {
    customerId,
    createdAt: new Date().toISOString(),
    ...(options.revoked ? { revoked: true } : {}),
  };
  await kv.put(kvKeys.apiKey(await sha256Hex(key)), JSON.stringify(keyRecord));
  await kv.put(kvKeys.customer(customerId), JSON.stringify(record));
  return { customerId, key, headers: { 'X-API-Key': key } };
}
