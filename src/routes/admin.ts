/** Admin API: API keys, customer records, temporary overrides and the global policy, in KV. */
import { Hono } from 'hono';
import { z } from 'zod';
import type { Bindings } from '../env';
import { ADMIN_MAX_BODY_BYTES, jsonBodyLimit } from '../http/json-body-limit';
import { problemResponse } from '../http/problem';
import { sha256Hex } from '../identity/hash';
import { kvKeys } from '../policy/config-store';
import { DEFAULT_POLICY } from '../policy/default-policy';
import {
  type ApiKeyRecord,
  apiKeyRecordSchema,
  type CustomerRecord,
  customerIdSchema,
  customerRecordSchema,
  type Override,
  overrideSchema,
  policyConfigSchema,
  TIERS,
} from '../policy/records';
import { activeOverride } from '../policy/resolve-policy';
import { getServices } from '../services';
import { log } from '../telemetry/log';
import { refuseNonAdmin } from './admin-auth';

type Env = { Bindings: Bindings };

/** Body of `POST /admin/keys`. */
export const newKeySchema = z.strictObject({
  customerId: customerIdSchema,
  tier: z.enum(TIERS).optional(),
});
/** Body of `POST /admin/keys/revoke`: the key itself, its id (as `keys list` prints it) or its prefix. */
export const revokeSchema = z
  .strictObject({
    key: z.string().min(1).optional(),
    id: z
      .string()
      .regex(/^[0-9a-f]{12,64}$/, 'must be 12-64 hex digits')
      .optional(),
    prefix: z.string().min(4).max(16).optional(),
  })
  .refine((r) => [r.key, r.id, r.prefix].filter((v) => v !== undefined).length === 1, {
    message: 'give exactly one of key, id, prefix',
  });
/** Query of `GET /admin/keys`. */
export const keysQuery = z.object({ customerId: customerIdSchema.optional() });
/** Body of `POST /admin/customers/:id/overrides/end`. */
export const endOverridesSchema = z.strictObject({ all: z.boolean().optional() });
/** Length of a key id: the first hex digits of the key's SHA-256, enough to tell keys apart. */
export const KEY_ID_LENGTH = 12;
/** Most records a list answers (KV lists 1,000 names per call). */
const MAX_LISTED = 10_000;
/** Body of `PUT /admin/customers/:id`. */
export const putCustomerSchema = customerRecordSchema.omit({ overrides: true, updatedAt: true });

/** Builds the admin routes (mounted under `<prefix>/admin`). */
export function adminRoutes(): Hono<Env> {
  const app = new Hono<Env>();

  app.use('*', async (c, next) => {
    const refused = await refuseNonAdmin(c.env, c.req.raw.headers);
    if (refused) return refused;
    await next();
  });
  app.use('*', jsonBodyLimit(ADMIN_MAX_BODY_BYTES));

  app.post('/keys', async (c) => {
    const body = await readJson(c.req.raw, newKeySchema);
    if (!body.ok) return body.response;
    const { customerId, tier } = body.value;
    const key = generateKey();
    const record: ApiKeyRecord = {
      customerId,
      createdAt: new Date().toISOString(),
      prefix: key.slice(0, 10),
    };
    await c.env.CONFIG.put(kvKeys.apiKey(await sha256Hex(key)), JSON.stringify(record));
    const existing = await readCustomer(c.env, customerId);
    if (!existing || (tier && existing.tier !== tier)) {
      await writeCustomer(c.env, customerId, {
        ...(existing ?? {}),
        tier: tier ?? existing?.tier ?? 'free',
      });
    }
    const id = (await sha256Hex(key)).slice(0, KEY_ID_LENGTH);
    return c.json(
      { key, customerId, tier: tier ?? existing?.tier ?? 'free', prefix: record.prefix, id },
      201,
    );
  });

  app.get('/keys', async (c) => {
    const query = keysQuery.safeParse(c.req.query());
    if (!query.success) {
      return invalid([
        { field: 'customerId', message: query.error.issues[0]?.message ?? 'invalid' },
      ]);
    }
    const { customerId } = query.data;
    const keys = (await listKeys(c.env)).filter(
      (k) => customerId === undefined || k.customerId === customerId,
    );
    // The id is enough to revoke; the full hash stays inside (it would let a weak key be tested offline).
    return c.json({ keys: keys.map(({ hash: _hash, ...shown }) => shown) });
  });

  app.post('/keys/revoke', async (c) => {
    const body = await readJson(c.req.raw, revokeSchema);
    if (!body.ok) return body.response;
    const { key, id, prefix } = body.value;
    let kvKey: string;
    if (key !== undefined) {
      kvKey = kvKeys.apiKey(await sha256Hex(key));
    } else {
      const keys = await listKeys(c.env);
      const matches =
        id !== undefined
          ? keys.filter((k) => k.hash.startsWith(id))
          : keys.filter((k) => k.prefix === prefix && !k.revoked);
      const what = id !== undefined ? `id ${id}` : `prefix ${prefix}`;
      if (matches.length > 1) {
        return problem(
          409,
          'Ambiguous key',
          `${matches.length} keys have ${what} (ids ${matches.map((k) => k.id).join(', ')}); give the id.`,
        );
      }
      const match = matches[0];
      if (!match) return problem(404, 'Not found', `No API key with ${what}.`);
      kvKey = kvKeys.apiKey(match.hash);
    }
    const raw = await c.env.CONFIG.get(kvKey, 'json');
    const parsed = apiKeyRecordSchema.safeParse(raw);
    if (!parsed.success) return problem(404, 'Not found', 'No such API key.');
    await c.env.CONFIG.put(kvKey, JSON.stringify({ ...parsed.data, revoked: true }));
    getServices(c.env).config.invalidate(kvKey);
    return c.json({
      revoked: true,
      customerId: parsed.data.customerId,
      id: kvKey.slice('key:'.length, 'key:'.length + KEY_ID_LENGTH),
      ...(parsed.data.prefix ? { prefix: parsed.data.prefix } : {}),
    });
  });

  app.get('/customers', async (c) => {
    const now = Date.now();
    const names = await listNames(c.env, 'customer:');
    const customers = [];
    for (const name of names) {
      const id = name.slice('customer:'.length);
      const record = await readCustomer(c.env, id);
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
    const id = customerIdSchema.safeParse(c.req.param('id'));
    if (!id.success)
      return invalid([{ field: 'id', message: id.error.issues[0]?.message ?? 'invalid' }]);
    const record = await readCustomer(c.env, id.data);
    if (!record) return problem(404, 'Not found', `No customer record for ${id.data}.`);
    const override = activeOverride(record.overrides, Date.now());
    return c.json({ customerId: id.data, ...record, activeOverride: override ?? null });
  });

  app.put('/customers/:id', async (c) => {
    const id = customerIdSchema.safeParse(c.req.param('id'));
    if (!id.success)
      return invalid([{ field: 'id', message: id.error.issues[0]?.message ?? 'invalid' }]);
    const body = await readJson(c.req.raw, putCustomerSchema);
    if (!body.ok) return body.response;
    if (body.value.unlimited && body.value.limits) {
      return invalid([
        { field: 'unlimited', message: 'cannot be combined with limits; send one of them' },
      ]);
    }
    const existing = await readCustomer(c.env, id.data);
    const record = await writeCustomer(c.env, id.data, {
      ...body.value,
      ...(existing?.overrides ? { overrides: existing.overrides } : {}),
    });
    return c.json({ customerId: id.data, ...record });
  });

  app.delete('/customers/:id', async (c) => {
    const id = customerIdSchema.safeParse(c.req.param('id'));
    if (!id.success)
      return invalid([{ field: 'id', message: id.error.issues[0]?.message ?? 'invalid' }]);
    await c.env.CONFIG.delete(kvKeys.customer(id.data));
    getServices(c.env).config.invalidate(kvKeys.customer(id.data));
    return c.json({ deleted: true, customerId: id.data });
  });

  app.post('/customers/:id/overrides', async (c) => {
    const id = customerIdSchema.safeParse(c.req.param('id'));
    if (!id.success)
      return invalid([{ field: 'id', message: id.error.issues[0]?.message ?? 'invalid' }]);
    const body = await readJson(c.req.raw, overrideSchema);
    if (!body.ok) return body.response;
    if (Date.parse(body.value.expiresAt) <= Date.now()) {
      return invalid([{ field: 'expiresAt', message: 'must be in the future' }]);
    }
    const existing = await readCustomer(c.env, id.data);
    const now = Date.now();
    // Expired overrides are dropped here, but they also stop applying by themselves at expiry.
    const kept = (existing?.overrides ?? []).filter((o) => Date.parse(o.expiresAt) > now);
    const override = { ...body.value, createdAt: new Date().toISOString() };
    const record = await writeCustomer(c.env, id.data, {
      ...(existing ?? { tier: 'free' }),
      overrides: [...kept, override].slice(-16),
    });
    log('override-applied', {
      customerId: id.data,
      reason: override.reason,
      expiresAt: override.expiresAt,
      limits: override.limits.map((l) => `${l.limit}/${l.window}`),
    });
    return c.json({ customerId: id.data, override, record }, 201);
  });

  app.post('/customers/:id/overrides/end', async (c) => {
    const id = customerIdSchema.safeParse(c.req.param('id'));
    if (!id.success)
      return invalid([{ field: 'id', message: id.error.issues[0]?.message ?? 'invalid' }]);
    const body = await readJson(c.req.raw, endOverridesSchema);
    if (!body.ok) return body.response;
    const existing = await readCustomer(c.env, id.data);
    if (!existing) return problem(404, 'Not found', `No customer record for ${id.data}.`);
    const now = Date.now();
    const inForce = activeOverride(existing.overrides, now);
    if (!inForce)
      return problem(409, 'No override in force', `${id.data} has no override in force.`);
    // Ending = expiring now: the entry stays in the record (shown as expired) for the history.
    const endedAt = new Date(now).toISOString();
    const ends = (o: Override) => (body.value.all ? Date.parse(o.expiresAt) > now : o === inForce);
    const ended = (existing.overrides ?? []).filter(ends);
    const record = await writeCustomer(c.env, id.data, {
      ...existing,
      overrides: (existing.overrides ?? []).map((o) =>
        ends(o) ? { ...o, expiresAt: endedAt } : o,
      ),
    });
    log('override-ended', { customerId: id.data, count: ended.length, endedAt });
    const next = activeOverride(record.overrides, now);
    return c.json({ customerId: id.data, ended, activeOverride: next ?? null, record });
  });

  app.get('/policy', async (c) => c.json(await getServices(c.env).config.policy()));

  app.put('/policy', async (c) => {
    const body = await readJson(c.req.raw, policyConfigSchema);
    if (!body.ok) return body.response;
    await c.env.CONFIG.put(kvKeys.policy, JSON.stringify(body.value));
    getServices(c.env).config.invalidate(kvKeys.policy);
    return c.json(body.value);
  });

  app.delete('/policy', async (c) => {
    await c.env.CONFIG.delete(kvKeys.policy);
    getServices(c.env).config.invalidate(kvKeys.policy);
    return c.json(DEFAULT_POLICY);
  });

  return app;
}

/** Every KV name under `prefix`, in order, at most {@link MAX_LISTED}. */
async function listNames(env: Bindings, prefix: string): Promise<string[]> {
  const names: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await env.CONFIG.list({ prefix, ...(cursor ? { cursor } : {}) });
    for (const k of page.keys) names.push(k.name);
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor && names.length < MAX_LISTED);
  return names.slice(0, MAX_LISTED);
}

/** A stored key as admins see it: its id and prefix, never the key. */
interface ListedKey {
  readonly id: string;
  readonly hash: string;
  readonly prefix: string | null;
  readonly customerId: string;
  readonly createdAt: string;
  readonly revoked: boolean;
}

async function listKeys(env: Bindings): Promise<ListedKey[]> {
  const out: ListedKey[] = [];
  for (const name of await listNames(env, 'key:')) {
    const parsed = apiKeyRecordSchema.safeParse(await env.CONFIG.get(name, 'json'));
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

/** Reads a customer record straight from KV (admin reads must not see a stale cache). */
export async function readCustomer(env: Bindings, id: string): Promise<CustomerRecord | null> {
  const raw = await env.CONFIG.get(kvKeys.customer(id), 'json');
  const parsed = customerRecordSchema.safeParse(raw);
  return parsed.success ? parsed.data : null;
}

async function writeCustomer(
  env: Bindings,
  id: string,
  record: CustomerRecord,
): Promise<CustomerRecord> {
  const full = customerRecordSchema.parse({ ...record, updatedAt: new Date().toISOString() });
  await env.CONFIG.put(kvKeys.customer(id), JSON.stringify(full));
  getServices(env).config.invalidate(kvKeys.customer(id));
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

type Parsed<T> = { ok: true; value: T } | { ok: false; response: Response };

async function readJson<T>(request: Request, schema: z.ZodType<T>): Promise<Parsed<T>> {
  let raw: unknown;
  try {
    raw = await request.json();
  } catch {
    return {
      ok: false,
      response: invalid([{ field: '(body)', message: 'must be a JSON object' }]),
    };
  }
  const parsed = schema.safeParse(raw);
  if (parsed.success) return { ok: true, value: parsed.data };
  return {
    ok: false,
    response: invalid(
      parsed.error.issues.map((i) => ({
        field: i.path.length ? i.path.join('.') : '(body)',
        message: i.message,
      })),
    ),
  };
}

function invalid(errors: { field: string; message: string }[]): Response {
  return problemResponse({
    type: 'about:blank',
    title: 'Invalid request',
    status: 400,
    detail: errors.map((e) => `${e.field}: ${e.message}`).join('; '),
    errors,
  });
}

function problem(status: number, title: string, detail: string): Response {
  return problemResponse({ type: 'about:blank', title, status, detail });
}
