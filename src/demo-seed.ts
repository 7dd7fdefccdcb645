/** Demo keys and customers for local runs (`SEED_DEMO=true`); never enabled in production. */
import type { Bindings } from './env';
import { sha256Hex } from './identity/hash';
import { kvKeys } from './policy/config-store';
import type { ApiKeyRecord, CustomerRecord } from './policy/records';

/** The demo credentials the README documents. */
export const DEMO_CUSTOMERS: readonly {
  key: string;
  customerId: string;
  record: CustomerRecord;
}[] = [
  { key: 'demo-free-key', customerId: 'demo-free', record: { tier: 'free' } },
  { key: 'demo-pro-key', customerId: 'demo-pro', record: { tier: 'pro' } },
  {
    key: 'demo-enterprise-key',
    customerId: 'demo-enterprise',
    record: {
      tier: 'enterprise',
      limits: [
        { limit: 50, window: '10s' },
        { limit: 100_000, window: '1d' },
      ],
      endpoints: [
        { id: 'search', method: 'POST', path: '/v1/search', limits: [{ limit: 3, window: '5s' }] },
      ],
    },
  },
  {
    // Concurrency and origin charges: 2 requests in flight, 1,000 tokens a minute.
    key: 'demo-ai-key',
    customerId: 'demo-ai',
    record: {
      tier: 'pro',
      concurrency: 2,
      limits: [
        { limit: 1000, window: '1m' },
        { limit: 1000, window: '1m', charge: 'origin', unit: 'tokens' },
      ],
    },
  },
];

const seeded = new WeakMap<object, Promise<void>>();

/** Writes the demo records that are missing, once per isolate; edits made since are kept. */
export function ensureDemoData(env: Bindings): Promise<void> {
  let done = seeded.get(env);
  if (!done) {
    done = seed(env);
    seeded.set(env, done);
  }
  return done;
}

async function seed(env: Bindings): Promise<void> {
  const createdAt = new Date().toISOString();
  await Promise.all(
    DEMO_CUSTOMERS.map(async ({ key, customerId, record }) => {
      const keyName = kvKeys.apiKey(await sha256Hex(key));
      if ((await env.CONFIG.get(keyName)) === null) {
        const keyRecord: ApiKeyRecord = { customerId, createdAt, prefix: key.slice(0, 10) };
        await env.CONFIG.put(keyName, JSON.stringify(keyRecord));
      }
      const customerName = kvKeys.customer(customerId);
      if ((await env.CONFIG.get(customerName)) === null) {
        await env.CONFIG.put(customerName, JSON.stringify(record));
      }
    }),
  );
}
