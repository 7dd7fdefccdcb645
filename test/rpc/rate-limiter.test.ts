/** The RateLimiter RPC entrypoint gives the proxy's decisions, headers and bodies. */
import { env, exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { CustomerRecord } from '../../src/policy/records';
import type { CheckInput } from '../../src/sdk/types';
import { silenceLogs, worker } from '../support/app';
import { createCustomer, randomIp } from '../support/customers';
import { expectSameDecision, proxied } from '../support/parity';

silenceLogs();

const limiter = exports.RateLimiter;

/** The message an invalid input is refused with. */
async function errorOf(input: CheckInput): Promise<string> {
  try {
    await limiter.check(input);
    return 'accepted';
  } catch (error) {
    return String(error);
  }
}

/** One step of a scenario: who calls what, described once and sent both ways. */
interface Step {
  readonly who:
    | 'customer'
    | 'free'
    | 'throttled'
    | 'service'
    | 'bad-key'
    | 'bad-token'
    | 'anonymous'
    | 'mismatch';
  readonly method: string;
  readonly path: string;
}

/** A caller on one side of the comparison: its own customer and IP, so the sides never share. */
async function side(record: CustomerRecord) {
  const customer = await createCustomer(env.CONFIG, record);
  const free = await createCustomer(env.CONFIG, { tier: 'free' });
  // Graduated throttling: warned from half the limit, held up to 20 ms before the hard limit.
  const throttled = await createCustomer(env.CONFIG, {
    tier: 'enterprise',
    limits: [{ limit: 3, window: '1m' }],
    throttle: { softAt: 0.5, maxDelayMs: 20 },
  });
  return { customer, free, throttled, ip: randomIp() };
}

/** Names that differ between the two sides by design. */
function namesOf(s: Awaited<ReturnType<typeof side>>): string[] {
  return [s.customer.customerId, s.free.customerId, s.throttled.customerId, s.ip];
}

function inputOf(step: Step, s: Awaited<ReturnType<typeof side>>): CheckInput {
  const base = { method: step.method, path: step.path, ip: s.ip };
  switch (step.who) {
    case 'customer':
      return { ...base, apiKey: s.customer.key };
    case 'free':
      return { ...base, apiKey: s.free.key };
    case 'throttled':
      return { ...base, apiKey: s.throttled.key };
    case 'service':
      return { ...base, serviceToken: 'test-service-token' };
    case 'bad-key':
      return { ...base, authorization: 'Bearer not-a-known-key-123' };
    case 'bad-token':
      return { ...base, serviceToken: 'wrong-token' };
    case 'mismatch':
      return { ...base, apiKey: s.customer.key, authorization: 'Bearer other-key-12345' };
    case 'anonymous':
      return base;
  }
}

const STRICT: CustomerRecord = {
  tier: 'enterprise',
  limits: [{ limit: 4, window: '1m' }],
  endpoints: [
    { id: 'search', method: 'POST', path: '/v1/search', limits: [{ limit: 2, window: '1m' }] },
  ],
};

describe('RateLimiter.check', () => {
  it('decides a mixed sequence exactly as the proxy does, request for request', async () => {
    const steps: Step[] = [
      { who: 'customer', method: 'GET', path: '/v1/things' },
      { who: 'customer', method: 'POST', path: '/v1/search' },
      { who: 'customer', method: 'POST', path: '/v1/search' },
      // The endpoint rule is full: 429, and the minute window is not consumed by it.
      { who: 'customer', method: 'POST', path: '/v1/search' },
      { who: 'customer', method: 'GET', path: '/v1/things/1' },
      { who: 'customer', method: 'GET', path: '/v1/things/2' },
      // The tier window is full now.
      { who: 'customer', method: 'GET', path: '/v1/things/3' },
      { who: 'free', method: 'GET', path: '/v1/things' },
      { who: 'free', method: 'POST', path: '/v1/search' },
      { who: 'throttled', method: 'GET', path: '/v1/things' },
      { who: 'throttled', method: 'GET', path: '/v1/things' },
      { who: 'throttled', method: 'GET', path: '/v1/things' },
      { who: 'throttled', method: 'GET', path: '/v1/things' },
      { who: 'service', method: 'GET', path: '/v1/things' },
      { who: 'bad-key', method: 'GET', path: '/v1/things' },
      { who: 'bad-token', method: 'GET', path: '/v1/things' },
      { who: 'mismatch', method: 'GET', path: '/v1/things' },
      { who: 'anonymous', method: 'GET', path: '/v1/search/../things' },
      { who: 'anonymous', method: 'POST', path: '/v1/search' },
    ];
    const viaProxy = await side(STRICT);
    const viaRpc = await side(STRICT);
    const outcomes: string[] = [];
    const delayed: string[] = [];
    for (const step of steps) {
      const proxyInput = inputOf(step, viaProxy);
      const rpcInput = inputOf(step, viaRpc);
      const fromProxy = await proxied(worker.fetch, proxyInput);
      const fromRpc = await limiter.check(rpcInput);
      outcomes.push(`${fromRpc.status} ${fromRpc.outcome}`);
      if (fromRpc.headers['X-Edgelimit-Delay']) delayed.push(step.who);
      expectSameDecision(
        { result: fromRpc, names: namesOf(viaRpc) },
        { result: fromProxy, names: namesOf(viaProxy) },
        `${step.who} ${step.method} ${step.path}`,
      );
    }
    expect(outcomes).toEqual([
      '200 allowed',
      '200 allowed',
      '200 allowed',
      '429 rejected',
      '200 allowed',
      '429 rejected',
      '429 rejected',
      '200 allowed',
      '200 allowed',
      '200 allowed',
      '200 allowed',
      '200 allowed',
      '429 rejected',
      '200 bypassed',
      '401 unauthenticated',
      '401 unauthenticated',
      '401 unauthenticated',
      '200 allowed',
      '200 allowed',
    ]);
    // Throttling applied on both paths alike (the comparison above includes its headers).
    expect(delayed).toEqual(['throttled', 'throttled']);
  });

  it('names the verified caller without secrets', async () => {
    const { customer, ip } = await side({ tier: 'pro' });
    const result = await limiter.check({ apiKey: customer.key, ip, method: 'GET', path: '/v1/x' });
    expect(result.caller).toEqual({
      kind: 'customer',
      customerId: customer.customerId,
      tier: 'pro',
    });
    const service = await limiter.check({
      serviceToken: 'second-service-token',
      method: 'GET',
      path: '/v1/x',
    });
    expect(service.caller?.kind).toBe('service');
    expect(service.headers).toEqual({ 'X-Edgelimit-Status': 'bypassed' });
  });

  it('charges `cost` units against every window', async () => {
    const { customer, ip } = await side(STRICT);
    const input = { apiKey: customer.key, ip, method: 'GET', path: '/v1/x' };
    const first = await limiter.check({ ...input, cost: 3 });
    expect(first.headers['X-RateLimit-Remaining']).toBe('1');
    const second = await limiter.check({ ...input, cost: 2 });
    expect(second.status).toBe(429);
    expect(second.retryAfter).toBeGreaterThanOrEqual(59);
  });

  it('refuses malformed input with an error naming the field', async () => {
    expect(await errorOf({ method: 'GET', path: 'no-slash' })).toMatch(/path: must start with/);
    expect(await errorOf({ method: 'GET', path: '/x', apiKey: 'a\r\nX-Evil: 1' })).toMatch(
      /apiKey: must not contain CR/,
    );
    expect(await errorOf({ method: 'GET', path: '/x', cost: -1 })).toMatch(/cost/);
    expect(await errorOf({ method: 'G ET', path: '/x' })).toMatch(/method/);
    expect(await errorOf({ method: 'GET', path: '/x', extra: 1 } as CheckInput)).toMatch(/extra/);
  });

  it('records the decision in the customer’s usage history like proxied traffic', async () => {
    const { customer, ip } = await side(STRICT);
    for (let i = 0; i < 5; i++) {
      await limiter.check({ apiKey: customer.key, ip, method: 'GET', path: '/v1/x' });
    }
    let totals: { allowed: number; rejected: number } | undefined;
    // Telemetry runs in waitUntil after the call returns: wait for it, bounded.
    for (let attempt = 0; attempt < 50; attempt++) {
      const res = await worker.fetch('/_edgelimit/usage?range=1h', { headers: customer.headers });
      totals = ((await res.json()) as { totals: typeof totals }).totals;
      if (totals && totals.allowed + totals.rejected >= 5) break;
      await scheduler.wait(20);
    }
    expect(totals).toEqual({ allowed: 4, rejected: 1 });
  });
});

describe('RateLimiter.peek', () => {
  it('reads the decision check would make, without consuming', async () => {
    const { customer, ip } = await side(STRICT);
    const input = { apiKey: customer.key, ip, method: 'POST', path: '/v1/search' };
    const before = await limiter.peek(input);
    expect(before.outcome).toBe('allowed');
    // The same decision; the reset instant may round across a second between the two reads.
    expectSameDecision(
      { result: await limiter.peek(input), names: [] },
      { result: before, names: [] },
      'peek twice',
    );
    await limiter.check(input);
    await limiter.check(input);
    const full = await limiter.peek(input);
    expect(full.status).toBe(429);
    expect(full.problem?.['violated-policies']).toEqual(['search:minute']);
    // Peeking did not consume: the GET window still has 4 - 2 = 2 left.
    const other = await limiter.check({ ...input, method: 'GET', path: '/v1/x' });
    expect(other.headers['X-RateLimit-Remaining']).toBe('1');
  });
});
