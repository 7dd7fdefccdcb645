/**
 * Reads keys, customers and the policy from KV through a short in-isolate cache (L1), validating
 * every record. A malformed record is reported and the last good value stays in force.
 */
import type { z } from 'zod';
import type { Clock } from '../clock';
import { BoundedMap } from '../limiter/bounded-map';
import { DEFAULT_POLICY } from './default-policy';
import {
  type ApiKeyRecord,
  apiKeyRecordSchema,
  type CustomerRecord,
  customerRecordSchema,
  describeIssues,
  type PolicyConfig,
  policyConfigSchema,
} from './records';

/** KV key names: the schema people also edit with `wrangler kv`. */
export const kvKeys = {
  apiKey: (hash: string) => `key:${hash}`,
  customer: (id: string) => `customer:${id}`,
  policy: 'config:policy',
} as const;

/** A config record that failed validation. */
export interface ConfigProblem {
  readonly key: string;
  readonly message: string;
  /** True when a last good value is still in force. */
  readonly keptLastGood: boolean;
}

/**
 * A value now (a fresh cache hit) or once KV answers. Callers `await` either: a hit then costs
 * no promise of its own, which on the request path is three reads per request.
 */
export type MaybePromise<T> = T | Promise<T>;

/** Read side of the configuration. */
export interface ConfigStore {
  apiKey(hash: string): MaybePromise<ApiKeyRecord | null>;
  customer(id: string): MaybePromise<CustomerRecord | null>;
  policy(): MaybePromise<PolicyConfig>;
  /** Drops cached entries so the next read goes to KV (after admin writes in this isolate). */
  invalidate(key?: string): void;
  /** Entries held in memory (fresh and last good), for the memory-bound tests. */
  cachedEntries(): number;
}

/** Options of {@link createConfigStore}. */
export interface ConfigStoreOptions {
  readonly kv: KVNamespace;
  readonly clock: Clock;
  /** How long a value read from KV is trusted; also the time an edit takes to apply. */
  readonly ttlMs?: number;
  readonly onProblem?: (problem: ConfigProblem) => void;
  /** Most records cached per isolate [10,000]; the least recently read are dropped first. */
  readonly maxEntries?: number;
}

interface Entry {
  value: unknown;
  fetchedAt: number;
}

/** Default L1 TTL: a KV edit applies within this long, without a deploy. */
export const CONFIG_TTL_MS = 10_000;

/** Default bound of the config cache, per map. */
export const MAX_CONFIG_ENTRIES = 10_000;

/**
 * Creates the KV-backed config store. Keep one per isolate: its cache is what makes lookups free.
 * @example const config = createConfigStore({ kv: env.CONFIG, clock: systemClock });
 */
export function createConfigStore(options: ConfigStoreOptions): ConfigStore {
  const { kv, clock, onProblem } = options;
  const ttl = options.ttlMs ?? CONFIG_TTL_MS;
  // Both maps are keyed by what callers present (key hashes, customer ids): bounded, so 200,000
  // guessed keys cost a bounded amount of memory, not 200,000 entries.
  const max = options.maxEntries ?? MAX_CONFIG_ENTRIES;
  const fresh = new BoundedMap<string, Entry>(max);
  /** Last value that passed validation, kept past its TTL as the fallback for bad edits. */
  const lastGood = new BoundedMap<string, unknown>(max);

  function read<T>(key: string, schema: z.ZodType<T>, fallback: T | null): MaybePromise<T | null> {
    const now = clock.now();
    const hit = fresh.get(key);
    // The value as validated when it was read: nothing is parsed again until the TTL ends.
    if (hit && now - hit.fetchedAt < ttl) return hit.value as T | null;
    // Past its TTL an entry is only memory: drop it before reading again.
    if (hit) fresh.delete(key);
    return load(key, schema, fallback, now);
  }

  async function load<T>(
    key: string,
    schema: z.ZodType<T>,
    fallback: T | null,
    now: number,
  ): Promise<T | null> {
    const raw = await kv.get(key, 'text');
    let value: T | null;
    if (raw === null) {
      value = fallback;
      lastGood.delete(key);
    } else {
      const parsed = parseJson(raw);
      const result = parsed.ok ? schema.safeParse(parsed.value) : undefined;
      if (result?.success) {
        value = result.data;
        lastGood.set(key, value);
      } else {
        const message = result
          ? describeIssues(result.error)
          : `not valid JSON: ${parsed.ok ? '' : parsed.error}`;
        const kept = lastGood.has(key);
        onProblem?.({ key, message, keptLastGood: kept });
        value = kept ? (lastGood.get(key) as T) : fallback;
      }
    }
    fresh.set(key, { value, fetchedAt: now });
    return value;
  }

  return {
    apiKey: (hash) => read(kvKeys.apiKey(hash), apiKeyRecordSchema, null),
    customer: (id) => read(kvKeys.customer(id), customerRecordSchema, null),
    policy: () => {
      const value = read(kvKeys.policy, policyConfigSchema, DEFAULT_POLICY);
      return value instanceof Promise
        ? value.then((v) => v ?? DEFAULT_POLICY)
        : (value ?? DEFAULT_POLICY);
    },
    invalidate: (key) => {
      if (key === undefined) fresh.clear();
      else fresh.delete(key);
    },
    cachedEntries: () => fresh.size + lastGood.size,
  };
}

function parseJson(raw: string): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(raw) };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}
