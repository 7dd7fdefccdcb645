/**
 * The OpenAPI document against the routes' real behaviour: every route is documented, every
 * documented route answers its example with a documented status, and what the schema rejects
 * gets the 400.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { adminRoutes } from '../../src/routes/admin';
import { increaseRequestRoutes } from '../../src/routes/increase-request';
import { metricsRoutes } from '../../src/routes/metrics';
import { rateLimitStatusRoutes } from '../../src/routes/rate-limit-status';
import { usageRoutes } from '../../src/routes/usage';
import { silenceLogs, testWorker } from '../support/app';
import { createCustomer, uniqueId } from '../support/customers';

silenceLogs();

const PREFIX = '/_edgelimit';
const worker = testWorker({ CONFIG_TTL_MS: '0' });

interface Param {
  name: string;
  in: 'path' | 'query';
  required: boolean;
  schema: { enum?: string[]; pattern?: string; type?: string };
}
interface DocOperation {
  parameters?: Param[];
  requestBody?: {
    content: { 'application/json': { schema: { type?: string }; example?: unknown } };
  };
  responses: Record<string, unknown>;
  security: Record<string, string[]>[];
}
type Doc = { openapi: string; paths: Record<string, Record<string, DocOperation>> };

async function document(): Promise<Doc> {
  const res = await worker.fetch(`${PREFIX}/openapi.json`);
  expect(res.status).toBe(200);
  return (await res.json()) as Doc;
}

/** Every documented operation as `METHOD /path`, with its description. */
async function operations(): Promise<[string, string, DocOperation][]> {
  const doc = await document();
  return Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(
      ([method, op]) => [method.toUpperCase(), path, op] as [string, string, DocOperation],
    ),
  );
}

/** The routes a sub-app registers, as `METHOD /path` under its mount point. */
function routesOf(app: { routes: { method: string; path: string }[] }, mount: string): string[] {
  return app.routes
    .filter((r) => r.method !== 'ALL')
    .map((r) => {
      const path = r.path === '/*' || r.path === '/' ? mount : `${mount}${r.path}`;
      return `${r.method} ${PREFIX}${path.replace(/:(\w+)/g, '{$1}')}`;
    });
}

/** Credentials an operation's security asks for. */
async function credentials(op: DocOperation): Promise<Record<string, string>> {
  if (op.security.some((s) => 'adminToken' in s))
    return { Authorization: 'Bearer test-admin-token' };
  if (op.security.some((s) => 'apiKey' in s)) {
    return (await createCustomer(env.CONFIG, { tier: 'pro' })).headers;
  }
  return {};
}

function url(path: string, op: DocOperation, query: Record<string, string> = {}): string {
  let out = path;
  for (const p of op.parameters ?? []) {
    if (p.in === 'path') out = out.replace(`{${p.name}}`, uniqueId('oa'));
  }
  const search = new URLSearchParams(query).toString();
  return search ? `${out}?${search}` : out;
}

describe('GET /_edgelimit/openapi.json', () => {
  it('is an OpenAPI 3.1 document', async () => {
    expect((await document()).openapi).toBe('3.1.0');
  });

  it('documents every route the worker answers itself, and nothing else', async () => {
    const actual = [
      // Answered inline by app.ts.
      `GET ${PREFIX}/health`,
      `GET ${PREFIX}/openapi.json`,
      ...routesOf(usageRoutes(), '/usage'),
      ...routesOf(rateLimitStatusRoutes(), '/rate_limit'),
      ...routesOf(metricsRoutes(), '/admin/metrics'),
      ...routesOf(increaseRequestRoutes(), '/usage/increase-request'),
      ...routesOf(adminRoutes(), '/admin'),
    ];
    const documented = (await operations()).map(([method, path]) => `${method} ${path}`);
    expect(documented.sort()).toEqual(actual.sort());
  });

  it('every documented route answers its example with a documented status', async () => {
    for (const [method, path, op] of await operations()) {
      const body = op.requestBody?.content['application/json'].example;
      const res = await worker.fetch(url(path, op), {
        method,
        headers: { ...(await credentials(op)), 'Content-Type': 'application/json' },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const label = `${method} ${path} answered ${res.status}`;
      expect(Object.keys(op.responses), label).toContain(String(res.status));
      // A documented 404 means "no such record", never "no such route".
      if (res.status === 404) expect(await res.text(), label).not.toContain('No route');
    }
  });

  it('answers 400 to a body or query its schema rejects', async () => {
    let checked = 0;
    for (const [method, path, op] of await operations()) {
      const headers = { ...(await credentials(op)), 'Content-Type': 'application/json' };
      const bodySchema = op.requestBody?.content['application/json'].schema;
      if (bodySchema) {
        // The schema says object; an array is not one.
        expect(bodySchema.type).toBe('object');
        const res = await worker.fetch(url(path, op), { method, headers, body: '[]' });
        expect(res.status, `${method} ${path} body []`).toBe(400);
        checked++;
      }
      for (const p of op.parameters ?? []) {
        if (p.in !== 'query' || !p.schema.enum) continue;
        // Every value outside the documented enum is refused, including ones other routes allow.
        const bad = p.name === 'range' && !p.schema.enum.includes('30d') ? '30d' : 'not-a-value';
        expect(p.schema.enum).not.toContain(bad);
        const res = await worker.fetch(url(path, op, { [p.name]: bad }), { method, headers });
        expect(res.status, `${method} ${path}?${p.name}=${bad}`).toBe(400);
        expect(((await res.json()) as { errors: { field: string }[] }).errors[0]?.field).toBe(
          p.name,
        );
        checked++;
      }
      for (const p of op.parameters ?? []) {
        if (p.in !== 'path' || !p.schema.pattern) continue;
        const bad = '_starts-with-underscore';
        expect(new RegExp(p.schema.pattern).test(bad)).toBe(false);
        const res = await worker.fetch(path.replace(`{${p.name}}`, bad), {
          method,
          headers,
          ...(op.requestBody
            ? { body: JSON.stringify(op.requestBody.content['application/json'].example) }
            : {}),
        });
        expect(res.status, `${method} ${path} with ${p.name}=${bad}`).toBe(400);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(12);
  });
});
