/** What the admin API reads and writes in KV: customer records and API keys, straight from KV. */
import { sha256Hex } from '../identity/hash';
import { kvKeys } from '../policy/config-store';
import { apiKeyRecordSchema, type CustomerRecord, customerRecordSchema } from '../policy/records';
import type { Services } from '../services';
import { validate } from './validate';

/** Length of a key id: the first hex digits of the key's SHA-256, enough to tell keys apart. */
export const KEY_ID_LENGTH = 12;
/** Most records a list answers (KV lists 1,000 names per call). */
const MAX_LISTED = 10_000;

/** Every KV name under `prefix`, in order, at most {@link MAX_LISTED}. */
export async function listNames(kv: KVNamespace, prefix: string): Promise<string[]> {
  const names: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await kv.list({ prefix, ...(cursor ? { cursor } : {}) });
    for (const k of page.keys) names.push(k.name);
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor && names.length < MAX_LISTED);
  return names.slice(0, MAX_LISTED);
}

/** A stored key as admins see it: its id and prefix, never the key. */
export interface ListedKey {
  readonly id: string;
  readonly hash: string;
  readonly prefix: string | null;
  readonly customerId: string;
  readonly createdAt: string;
  readonly revoked: boolean;
}

/** Every stored API key, oldest first. */
export async function listKeys(kv: KVNamespace): Promise<ListedKey[]> {
  const out: ListedKey[] = [];
  for (const name of await listNames(kv, 'key:')) {
    const parsed = apiKeyRecordSchema.safeParse(await kv.get(name, 'json'));
    if (!parsed.success) continue;
    const hash = name.slice('key:'.length);
    out.push({
      id: hash.slice(0, KEY_ID_LENGTH),
      hash,
      prefix: parsed.data.prefix ?? null,
      customerId: parsed.data.customerId,
      createdAt: parsed.data.createdAt,
      revoked: parsed.data.revoked === true,
    });
  }
  return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

/** The id `keys list` prints for a key. */
export async function keyIdOf(key: string): Promise<string> {
  return (await sha256Hex(key)).slice(0, KEY_ID_LENGTH);
}

/** Reads a customer record straight from KV (admin reads must not see a stale cache). */
export async function readCustomer(kv: KVNamespace, id: string): Promise<CustomerRecord | null> {
  const raw = await kv.get(kvKeys.customer(id), 'json');
  const parsed = customerRecordSchema.safeParse(raw);
  return parsed.success ? parsed.data : null;
}

/** Writes a customer record (stamped `updatedAt`) and drops this isolate's cached copy. */
export async function writeCustomer(
  services: Services,
  kv: KVNamespace,
  id: string,
  record: CustomerRecord,
): Promise<CustomerRecord> {
  const full = validate(
    customerRecordSchema,
    { ...record, updatedAt: new Date().toISOString() },
    '(body)',
  );
  await kv.put(kvKeys.customer(id), JSON.stringify(full));
  services.config.invalidate(kvKeys.customer(id));
  return full;
}

/** A new API key: `el_` and 32 random bytes, base64url. */
export function generateKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const b64 = btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
  return `el_${b64}`;
}
