/** Admin API: API keys, customer records, temporary overrides and the global policy, in KV. */
import { Hono } from 'hono';
import { requireAdmin } from '../http/admin-auth';
import type { EdgeEnv } from '../http/edge-env';
import { fail, problems } from '../http/problem';
import { newKeySchema, putCustomerSchema, revokeSchema } from '../http/request-schemas';
import { jsonBody, paramOf, validate } from '../http/validate';
import { sha256Hex } from '../identity/hash';
import { kvKeys } from '../policy/config-store';
import { DEFAULT_POLICY } from '../policy/default-policy';
import {
  type ApiKeyRecord,
  apiKeyRecordSchema,
  type CustomerRecord,
  customerIdSchema,
  customerRecordSchema,
  overrideSchema,
  policyConfigSchema,
} from '../policy/records';
import { activeOverride } from '../policy/resolve-policy';
import type { Services } from '../services';
import { log } from '../telemetry/log';

/** Builds the admin routes (mounted under `<prefix>/admin`). */
export function adminRoutes(): Hono<EdgeEnv> {
  const app = new Hono<EdgeEnv>();
  app.use('*', requireAdmin());

  app.post('/keys', async (c) => {
    const { customerId, tier } = await jsonBody(c, newKeySchema);
    const key = generateKey();
    const record: ApiKeyRecord = {
      customerId,
      createdAt: new Date().toISOString(),
      prefix: key.slice(0, 10),
    };
    await c.env.CONFIG.put(kvKeys.apiKey(await sha256Hex(key)), JSON.stringify(record));
    const existing = await readCustomer(c.env.CONFIG, customerId);
    if (!existing || (tier && existing.tier !== tier)) {
      await writeCustomer(c.var.services, c.env.CONFIG, customerId, {
        ...(existing ?? {}),
        tier: tier ?? existing?.tier ?? 'free',
      });
    }
    return c.json(
      { key, customerId, tier: tier ?? existing?.tier ?? 'free', prefix: record.prefix },
      201,
    );
  });

  app.post('/keys/revoke', async (c) => {
    const body = await jsonBody(c, revokeSchema);
    const kvKey = kvKeys.apiKey(await sha256Hex(body.key));
    const raw = await c.env.CONFIG.get(kvKey, 'json');
    const parsed = apiKeyRecordSchema.safeParse(raw);
    if (!parsed.success) fail(problems.notFound('No such API key.'));
    await c.env.CONFIG.put(kvKey, JSON.stringify({ ...parsed.data, revoked: true }));
    c.var.services.config.invalidate(kvKey);
    return c.json({ revoked: true, customerId: parsed.data.customerId });
  });

  app.get('/customers/:id', async (c) => {
    const id = paramOf(c, 'id', customerIdSchema);
    const record = await readCustomer(c.env.CONFIG, id);
    if (!record) fail(problems.notFound(`No customer record for ${id}.`));
    const override = activeOverride(record.overrides, Date.now());
    return c.json({ customerId: id, ...record, activeOverride: override ?? null });
  });

  app.put('/customers/:id', async (c) => {
    const id = paramOf(c, 'id', customerIdSchema);
    const body = await jsonBody(c, putCustomerSchema);
    const existing = await readCustomer(c.env.CONFIG, id);
    const record = await writeCustomer(c.var.services, c.env.CONFIG, id, {
      ...body,
      ...(existing?.overrides ? { overrides: existing.overrides } : {}),
    });
    return c.json({ customerId: id, ...record });
  });

  app.delete('/customers/:id', async (c) => {
    const id = paramOf(c, 'id', customerIdSchema);
    await c.env.CONFIG.delete(kvKeys.customer(id));
    c.var.services.config.invalidate(kvKeys.customer(id));
    return c.json({ deleted: true, customerId: id });
  });

  app.post('/customers/:id/overrides', async (c) => {
    const id = paramOf(c, 'id', customerIdSchema);
    const body = await jsonBody(c, overrideSchema);
    if (Date.parse(body.expiresAt) <= Date.now()) {
      fail(problems.invalidRequest([{ field: 'expiresAt', message: 'must be in the future' }]));
    }
    const existing = await readCustomer(c.env.CONFIG, id);
    const now = Date.now();
    // Expired overrides are dropped here, but they also stop applying by themselves at expiry.
    const kept = (existing?.overrides ?? []).filter((o) => Date.parse(o.expiresAt) > now);
    const override = { ...body, createdAt: new Date().toISOString() };
    const record = await writeCustomer(c.var.services, c.env.CONFIG, id, {
      ...(existing ?? { tier: 'free' }),
      overrides: [...kept, override].slice(-16),
    });
    log('override-applied', {
      customerId: id,
      reason: override.reason,
      expiresAt: override.expiresAt,
      limits: override.limits.map((l) => `${l.limit}/${l.window}`),
    });
    return c.json({ customerId: id, override, record }, 201);
  });

  app.get('/policy', async (c) => c.json(await c.var.services.config.policy()));

  app.put('/policy', async (c) => {
    const body = await jsonBody(c, policyConfigSchema);
    await c.env.CONFIG.put(kvKeys.policy, JSON.stringify(body));
    c.var.services.config.invalidate(kvKeys.policy);
    return c.json(body);
  });

  app.delete('/policy', async (c) => {
    await c.env.CONFIG.delete(kvKeys.policy);
    c.var.services.config.invalidate(kvKeys.policy);
    return c.json(DEFAULT_POLICY);
  });

  return app;
}

/** Reads a customer record straight from KV (admin reads must not see a stale cache). */
export async function readCustomer(kv: KVNamespace, id: string): Promise<CustomerRecord | null> {
  const raw = await kv.get(kvKeys.customer(id), 'json');
  const parsed = customerRecordSchema.safeParse(raw);
  return parsed.success ? parsed.data : null;
}

async function writeCustomer(
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
