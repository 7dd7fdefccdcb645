/**
 * `GET <prefix>/openapi.json`: an OpenAPI 3.1 description of the routes the worker answers
 * itself, generated with `z.toJSONSchema` from the same zod schemas that validate their bodies,
 * queries and path parameters, so the document cannot drift from the checks.
 */
import { z } from 'zod';
import {
  endOverridesSchema,
  increaseRequestSchema,
  keysQuery,
  metricsQuery,
  newKeySchema,
  putCustomerSchema,
  revokeSchema,
  usageQuery,
} from '../http/request-schemas';
import { metricsSchema, rateLimitSchema, usageSchema } from '../http/usage-api';
import { limitListSchema } from '../policy/limit-spec';
import {
  customerIdSchema,
  customerRecordSchema,
  overrideSchema,
  policyConfigSchema,
} from '../policy/records';

/** Who may call an operation. */
type Security = 'none' | 'admin' | 'apiKey' | 'apiKeyOrAnonymous';

/** One documented route: its validation schemas, a working example and its answers. */
export interface Operation {
  readonly method: 'get' | 'post' | 'put' | 'delete';
  /** Path under the reserved prefix, OpenAPI style: `/admin/customers/{id}`. */
  readonly path: string;
  readonly summary: string;
  readonly security: Security;
  readonly pathParams?: Readonly<Record<string, z.ZodType>>;
  readonly query?: z.ZodType;
  readonly body?: z.ZodType;
  /** A request body that validates; the OpenAPI test sends it. */
  readonly example?: unknown;
  /** Response statuses and what they mean; problem+json for every status >= 400. */
  readonly responses: Readonly<Record<number, string>>;
  /** Schema of the 2xx JSON body, when one validates it. */
  /** zod or zod/mini (the usage API's response schemas are zod/mini, shared with the dashboard). */
  readonly result?: z.core.$ZodType;
}

const limits = [{ limit: 1000, window: '1m' }];
const AUTH = { 401: 'Missing or wrong credentials', 429: 'Too many failed credential attempts' };
const ADMIN = { 401: 'Missing or wrong admin token', 503: 'Admin API disabled (no ADMIN_TOKEN)' };
const id = { id: customerIdSchema };

/** Every route under the reserved prefix. */
export const OPERATIONS: readonly Operation[] = [
  {
    method: 'get',
    path: '/health',
    summary: 'Liveness and the store mode in use',
    security: 'none',
    responses: { 200: 'Healthy' },
    result: z.object({ ok: z.boolean(), store: z.string() }),
  },
  {
    method: 'get',
    path: '/openapi.json',
    summary: 'This document',
    security: 'none',
    responses: { 200: 'OpenAPI 3.1 document' },
  },
  {
    method: 'get',
    path: '/rate_limit',
    summary: 'Every window that applies to the caller now, read without consuming quota',
    security: 'apiKeyOrAnonymous',
    responses: { 200: 'Windows, remaining quota and any override', ...AUTH, 503: 'Store down' },
    result: rateLimitSchema,
  },
  {
    method: 'get',
    path: '/usage',
    summary: "The caller's own usage history",
    security: 'apiKey',
    query: usageQuery,
    responses: {
      200: 'Series, totals, recent rejections',
      400: 'Invalid query',
      ...AUTH,
      502: 'Usage source failed',
    },
    result: usageSchema,
  },
  {
    method: 'post',
    path: '/usage/increase-request',
    summary: 'Ask operators for a temporary limit increase',
    security: 'apiKey',
    body: increaseRequestSchema,
    example: { reason: 'Launch week', limits },
    responses: { 202: 'Received; operators were alerted', 400: 'Invalid body', ...AUTH },
  },
  {
    method: 'get',
    path: '/admin/metrics',
    summary: 'Fleet health: decisions, top limited customers, breaker, recent alerts',
    security: 'admin',
    query: metricsQuery,
    responses: { 200: 'Fleet metrics', 400: 'Invalid query', ...ADMIN, 502: 'Usage source failed' },
    result: metricsSchema,
  },
  {
    method: 'post',
    path: '/admin/keys',
    summary: 'Create an API key for a customer (and its record, if new)',
    security: 'admin',
    body: newKeySchema,
    example: { customerId: 'acme', tier: 'pro' },
    responses: { 201: 'The new key, shown once', 400: 'Invalid body', ...ADMIN },
  },
  {
    method: 'get',
    path: '/admin/keys',
    summary: 'List API keys: id, prefix, customer, creation time, status (never the keys)',
    security: 'admin',
    query: keysQuery,
    responses: { 200: 'The keys', 400: 'Invalid query', ...ADMIN },
  },
  {
    method: 'post',
    path: '/admin/keys/revoke',
    summary: 'Revoke an API key, given as the key, its id or its prefix (exactly one)',
    security: 'admin',
    body: revokeSchema,
    example: { key: 'el_unknown-key' },
    responses: {
      200: 'Revoked',
      400: 'Invalid body',
      404: 'No such key',
      409: 'Several live keys have that prefix',
      ...ADMIN,
    },
  },
  {
    method: 'get',
    path: '/admin/customers',
    summary: 'List customer records: tier, custom limits, override in force',
    security: 'admin',
    responses: { 200: 'The customers', ...ADMIN },
  },
  {
    method: 'get',
    path: '/admin/customers/{id}',
    summary: 'Read a customer record and its active override',
    security: 'admin',
    pathParams: id,
    responses: { 200: 'The record', 400: 'Invalid id', 404: 'No such customer', ...ADMIN },
  },
  {
    method: 'put',
    path: '/admin/customers/{id}',
    summary: 'Create or replace a customer record (overrides are kept)',
    security: 'admin',
    pathParams: id,
    body: putCustomerSchema,
    example: { tier: 'enterprise', limits },
    responses: { 200: 'The record as stored', 400: 'Invalid id or body', ...ADMIN },
    result: customerRecordSchema.extend({ customerId: customerIdSchema }),
  },
  {
    method: 'delete',
    path: '/admin/customers/{id}',
    summary: 'Delete a customer record (its keys then fall back to the free tier)',
    security: 'admin',
    pathParams: id,
    responses: { 200: 'Deleted', 400: 'Invalid id', ...ADMIN },
  },
  {
    method: 'post',
    path: '/admin/customers/{id}/overrides',
    summary: 'Grant a temporary increase that expires by itself',
    security: 'admin',
    pathParams: id,
    body: overrideSchema,
    example: { limits, expiresAt: '2099-01-01T00:00:00Z', reason: 'Launch week' },
    responses: { 201: 'Granted', 400: 'Invalid id or body', ...ADMIN },
  },
  {
    method: 'post',
    path: '/admin/customers/{id}/overrides/end',
    summary: 'End the override in force now (or, with all, every one not yet expired)',
    security: 'admin',
    pathParams: id,
    body: endOverridesSchema,
    example: {},
    responses: {
      200: 'Ended; the override now in force, if any',
      400: 'Invalid id or body',
      404: 'No such customer',
      409: 'No override in force',
      ...ADMIN,
    },
  },
  {
    method: 'get',
    path: '/admin/policy',
    summary: 'The global policy in force: tiers, endpoint rules, key-guess limit',
    security: 'admin',
    responses: { 200: 'The policy', ...ADMIN },
    result: policyConfigSchema,
  },
  {
    method: 'put',
    path: '/admin/policy',
    summary: 'Replace the global policy',
    security: 'admin',
    body: policyConfigSchema,
    example: {
      tiers: { free: limits, pro: limits, enterprise: limits, anonymous: limits },
      endpoints: [],
      keyGuessLimit: [{ limit: 20, window: '1m' }],
    },
    responses: { 200: 'The policy as stored', 400: 'Invalid body', ...ADMIN },
    result: policyConfigSchema,
  },
  {
    method: 'delete',
    path: '/admin/policy',
    summary: 'Go back to the built-in policy',
    security: 'admin',
    responses: { 200: 'The built-in policy', ...ADMIN },
    result: policyConfigSchema,
  },
];

type JsonSchema = Record<string, unknown>;

/** JSON Schema 2020-12 (OpenAPI 3.1's dialect) of what a client sends or gets. */
function jsonSchema(schema: z.core.$ZodType, io: 'input' | 'output' = 'input'): JsonSchema {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    // Refinements (e.g. "at most 1000 points") cannot be expressed; the route still checks them.
    unrepresentable: 'any',
  }) as JsonSchema;
  return rest;
}

/** The problem+json body every error answer carries (RFC 9457). */
const problemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
});

const SECURITY: Record<Security, Record<string, string[]>[]> = {
  none: [],
  admin: [{ adminToken: [] }],
  apiKey: [{ apiKey: [] }, { bearerApiKey: [] }],
  apiKeyOrAnonymous: [{ apiKey: [] }, { bearerApiKey: [] }, {}],
};

const documents = new Map<string, Record<string, unknown>>();

/** The OpenAPI 3.1 document for a worker whose reserved prefix is `prefix`; built once. */
export function openApiDocument(prefix: string, docsUrl: string): Record<string, unknown> {
  const key = `${prefix} ${docsUrl}`;
  const cached = documents.get(key);
  if (cached) return cached;
  const document = buildDocument(prefix, docsUrl);
  documents.set(key, document);
  return document;
}

function buildDocument(prefix: string, docsUrl: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of OPERATIONS) {
    const parameters: unknown[] = [];
    for (const [name, schema] of Object.entries(op.pathParams ?? {})) {
      parameters.push({ name, in: 'path', required: true, schema: jsonSchema(schema) });
    }
    if (op.query) {
      const query = jsonSchema(op.query);
      const properties = (query.properties ?? {}) as Record<string, JsonSchema>;
      const required = new Set((query.required ?? []) as string[]);
      for (const [name, schema] of Object.entries(properties)) {
        parameters.push({ name, in: 'query', required: required.has(name), schema });
      }
    }
    const responses: Record<string, unknown> = {};
    for (const [status, description] of Object.entries(op.responses)) {
      const error = Number(status) >= 400;
      const type = error ? 'application/problem+json' : 'application/json';
      const schema = error
        ? { $ref: '#/components/schemas/Problem' }
        : op.result
          ? jsonSchema(op.result, 'output')
          : { type: 'object' };
      responses[status] = { description, content: { [type]: { schema } } };
    }
    const operation = {
      operationId: operationId(op),
      summary: op.summary,
      security: SECURITY[op.security],
      ...(parameters.length ? { parameters } : {}),
      ...(op.body
        ? {
            requestBody: {
              required: true,
              content: {
                'application/json': {
                  schema: jsonSchema(op.body),
                  ...(op.example !== undefined ? { example: op.example } : {}),
                },
              },
            },
          }
        : {}),
      responses,
    };
    const path = `${prefix}${op.path}`;
    paths[path] = { ...(paths[path] ?? {}), [op.method]: operation };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'edgelimit',
      version: '1',
      description:
        'The routes an edgelimit worker answers itself. Every other path is rate limited and forwarded to the origin.',
    },
    externalDocs: { url: docsUrl },
    components: {
      securitySchemes: {
        adminToken: { type: 'http', scheme: 'bearer', description: 'The ADMIN_TOKEN secret' },
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        bearerApiKey: { type: 'http', scheme: 'bearer', description: 'A customer API key' },
      },
      schemas: { Limits: jsonSchema(limitListSchema), Problem: jsonSchema(problemSchema) },
    },
    paths,
  };
}

/** `putAdminCustomersId`-style ids: method plus the path's words. */
function operationId(op: Operation): string {
  const words = op.path.split(/[^A-Za-z0-9]+/).filter(Boolean);
  return op.method + words.map((w) => w[0]?.toUpperCase() + w.slice(1)).join('');
}
