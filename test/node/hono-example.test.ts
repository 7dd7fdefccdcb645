/**
 * The example Hono Worker (examples/hono-app) and the proxy, both in workerd under wrangler dev as
 * `npm run example` runs them: the example's answers match the proxy's, request for request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ExampleStack, startExampleStack } from '../../scripts/lib/example-stack';
import { freePort } from '../../scripts/lib/free-port';
import type { CheckInput } from '../../src/sdk/types';
import { decisionOf, expectSameDecision, headersOf } from '../support/parity';

let stack: ExampleStack;

beforeAll(async () => {
  stack = await startExampleStack({
    workerPort: await freePort(),
    examplePort: await freePort(),
    log: () => {},
  });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

/** A customer with the given record, created through the admin API. */
async function customer(id: string, record: object): Promise<string> {
  const admin = { Authorization: 'Bearer demo-admin-token', 'Content-Type': 'application/json' };
  const put = await fetch(`${stack.workerUrl}/_edgelimit/admin/customers/${id}`, {
    method: 'PUT',
    headers: admin,
    body: JSON.stringify(record),
  });
  expect(put.status).toBe(200);
  const key = await fetch(`${stack.workerUrl}/_edgelimit/admin/keys`, {
    method: 'POST',
    headers: admin,
    body: JSON.stringify({ customerId: id }),
  });
  expect(key.status).toBe(201);
  return ((await key.json()) as { key: string }).key;
}

const send = (base: string, input: CheckInput) =>
  fetch(`${base}${input.path}`, { method: input.method, headers: headersOf(input) });

describe('examples/hono-app against the limiter', () => {
  it('answers like the proxy: tiers, endpoint rules, bypass, 401 and 429', async () => {
    const record = {
      tier: 'enterprise',
      limits: [{ limit: 4, window: '1m' }],
      endpoints: [
        { id: 'search', method: 'POST', path: '/v1/search', limits: [{ limit: 2, window: '1m' }] },
      ],
    };
    const run = crypto.randomUUID().slice(0, 8);
    const sides = {
      proxy: { id: `proxy-${run}`, key: '', ip: '10.1.0.1', base: stack.workerUrl },
      example: { id: `example-${run}`, key: '', ip: '10.2.0.1', base: stack.exampleUrl },
    };
    sides.proxy.key = await customer(sides.proxy.id, record);
    sides.example.key = await customer(sides.example.id, record);

    type Who = 'customer' | 'pro' | 'service' | 'bad-key' | 'bad-token' | 'anonymous';
    const steps: [Who, string, string][] = [
      ['customer', 'GET', '/v1/things'],
      ['customer', 'POST', '/v1/search'],
      ['customer', 'POST', '/v1/search'],
      ['customer', 'POST', '/v1/search'],
      ['customer', 'GET', '/v1/things/1'],
      ['customer', 'GET', '/v1/things/2'],
      ['customer', 'GET', '/v1/things/3'],
      ['pro', 'GET', '/v1/things'],
      ['service', 'GET', '/v1/things'],
      ['bad-key', 'GET', '/v1/things'],
      ['bad-token', 'GET', '/v1/things'],
      ['anonymous', 'GET', '/v1/things'],
    ];
    const statuses: number[] = [];
    for (const [who, method, path] of steps) {
      const results = [];
      for (const side of [sides.proxy, sides.example]) {
        const credentials: Record<Who, Partial<CheckInput>> = {
          customer: { apiKey: side.key },
          pro: { apiKey: 'demo-pro-key' },
          service: { serviceToken: 'demo-service-token' },
          'bad-key': { authorization: 'Bearer not-a-known-key-123' },
          'bad-token': { serviceToken: 'wrong-token' },
          anonymous: {},
        };
        const input = { method, path, ip: side.ip, ...credentials[who] };
        results.push(await decisionOf(await send(side.base, input)));
      }
      const [fromProxy, fromExample] = results;
      if (!fromProxy || !fromExample) throw new Error('missing result');
      statuses.push(fromExample.status);
      // The demo pro customer is shared by both sides: its remaining count differs by one.
      if (who === 'pro') {
        expect(fromExample.headers['ratelimit-policy']).toBe(fromProxy.headers['ratelimit-policy']);
        continue;
      }
      expectSameDecision(
        { result: fromExample, names: [sides.example.id, sides.example.ip] },
        { result: fromProxy, names: [sides.proxy.id, sides.proxy.ip] },
        `${who} ${method} ${path}`,
      );
    }
    expect(statuses).toEqual([200, 200, 200, 429, 200, 429, 429, 200, 200, 401, 401, 200]);
  });

  it('puts the verified caller on c.var for the handler', async () => {
    const res = await fetch(`${stack.exampleUrl}/v1/whoami`, {
      headers: { 'X-API-Key': 'demo-enterprise-key', 'X-Customer-Id': 'forged' },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      caller: { kind: 'customer', customerId: 'demo-enterprise', tier: 'enterprise' },
    });
  });
});
