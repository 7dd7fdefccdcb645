/** Admin API: API keys, customer records, temporary overrides and the global policy, in KV. */
import { Hono } from 'hono';
import { requireAdmin } from '../http/admin-auth';
import {
  generateKey,
  KEY_ID_LENGTH,
  keyIdOf,
  listKeys,
  listNames,
  readCustomer,
  writeCustomer,
} from '../http/admin-records';
import type { EdgeEnv } from '../http/edge-env';
import { ADMIN_MAX_BODY_BYTES, jsonBodyLimit } from '../http/json-body-limit';
import { fail, problems } from '../http/problem';
import {
  endOverridesSchema,
  keysQuery,
  newKeySchema,
  putCustomerSchema,
  revokeSchema,
} from '../http/request-schemas';
import { jsonBody, paramOf, queryOf } from '../http/validate';
import { sha256Hex } from '../identity/hash';
import { kvKeys } from '../policy/config-store';
import { DEFAULT_POLICY } from '../policy/default-policy';
import {
  type ApiKeyRecord,
  apiKeyRecordSchema,
  customerIdSchema,
  type Override,
  overrideSchema,
  policyConfigSchema,
} from '../policy/records';
import { activeOverride } from '../policy/resolve-policy';
import { log } from '../telemetry/log';

/** Builds the admin routes (mounted under `<prefix>/admin`). */
export function adminRoutes(): Hono<EdgeEnv> {
  const app = new Hono<EdgeEnv>();
  app.use('*', requireAdmin());
  app.use('*', jsonBodyLimit(ADMIN_MAX_BODY_BYTES));

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
    const id = await keyIdOf(key);
    return c.json(
      { key, customerId, tier: tier ?? existing?.tier ?? 'free', prefix: record.prefix, id },
      201,
    );
  });

  app.get('/keys', async (c) => {
    const { customerId } = queryOf(c, keysQuery);
    const keys = (await listKeys(c.env.CONFIG)).filter(
      (k) => customerId === undefined || k.customerId === customerId,
    );
    // The id is enough to revoke; the full hash stays inside (it would let a weak key be tested offline).
    return c.json({ keys: keys.map(({ hash: _hash, ...shown }) => shown) });
  });

  app.post('/keys/revoke', async (c) => {
    const { key, id, prefix } = await jsonBody(c, revokeSchema);
    let kvKey: string;
    if (key !== undefined) {
      kvKey = kvKeys.apiKey(await sha256Hex(key));
    } else {
      const keys = await listKeys(c.env.CONFIG);
      const matches =
        id !== undefined
          ? keys.filter((k) => k.hash.startsWith(id))
          : keys.filter((k) => k.prefix === prefix && !k.revoked);
      const what = id !== undefined ? `id ${id}` : `prefix ${prefix}`;
      if (matches.length > 1) {
        fail(
          problems.conflict(
            'Ambiguous key',
            `${matches.length} keys have ${what} (ids ${matches.map((k) => k.id).join(', ')}); give the id.`,
          ),
        );
      }
      const match = matches[0];
      if (!match) return fail(problems.notFound(`No API key with ${what}.`));
      kvKey = kvKeys.apiKey(match.hash);
    }
    const raw = await c.env.CONFIG.get(kvKey, 'json');
    const parsed = apiKeyRecordSchema.safeParse(raw);
    if (!parsed.success) return fail(problems.notFound('No such API key.'));
    await c.env.CONFIG.put(kvKey, JSON.stringify({ ...parsed.data, revoked: true }));
    c.var.services.config.invalidate(kvKey);
    return c.json({
      revoked: true,
      customerId: parsed.data.customerId,
      id: kvKey.slice('key:'.length, 'key:'.length + KEY_ID_LENGTH),
      ...(parsed.data.prefix ? { prefix: parsed.data.prefix } : {}),
    });
  });

  app.get('/customers', async (c) => {
    const now = Date.now();
    const names = await listNames(c.env.CONFIG, 'customer:');
    const customers = [];
    for (const name of names) {
      const id = name.slice('customer:'.length);
      const record = await readCustomer(c.env.CONFIG, id);
      if (!record) {
        customers.push({ customerId: id, tier: null, invalid: true });
        continue;
      }
      customers.push({
        customerId: id,
        tier: record.tier,
        limits: record.limits ?? null,
        endpoints: record.endpoints?.length ?? 0,
        activeOverride: activeOverride(record.overrides, now) ?? null,
        updatedAt: record.updatedAt ?? null,
      });
    }
    return c.json({ customers });
  });

  app.get('/customers/:id', async (c) => {
    const id = paramOf(c, 'id', customerIdSchema);
    const record = await readCustomer(c.env.CONFIG, id);
    if (!record) return fail(problems.notFound(`No customer record for ${id}.`));
    const override = activeOverride(record.overrides, Date.now());
    return c.json({ customerId: id, ...record, activeOverride: override ?? null });
  });

  app.put('/customers/:id', async (c) => {
    const id = paramOf(c, 'id', customerIdSchema);
    const body = await jsonBody(c, putCustomerSchema);
    if (body.unlimited && body.limits) {
      fail(
        problems.invalidRequest([
          { field: 'unlimited', message: 'cannot be combined with limits; send one of them' },
        ]),
      );
    }
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

  app.post('/customers/:id/overrides/end', async (c) => {
    const id = paramOf(c, 'id', customerIdSchema);
    const body = await jsonBody(c, endOverridesSchema);
    const existing = await readCustomer(c.env.CONFIG, id);
    if (!existing) return fail(problems.notFound(`No customer record for ${id}.`));
    const now = Date.now();
    const inForce = activeOverride(existing.overrides, now);
    if (!inForce) {
      return fail(problems.conflict('No override in force', `${id} has no override in force.`));
    }
    // Ending = expiring now: the entry stays in the record (shown as expired) for the history.
    const endedAt = new Date(now).toISOString();
    const ends = (o: Override) => (body.all ? Date.parse(o.expiresAt) > now : o === inForce);
    const ended = (existing.overrides ?? []).filter(ends);
    const record = await writeCustomer(c.var.services, c.env.CONFIG, id, {
      ...existing,
      overrides: (existing.overrides ?? []).map((o) =>
        ends(o) ? { ...o, expiresAt: endedAt } : o,
      ),
    });
    log('override-ended', { customerId: id, count: ended.length, endedAt });
    const next = activeOverride(record.overrides, now);
    return c.json({ customerId: id, ended, activeOverride: next ?? null, record });
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
