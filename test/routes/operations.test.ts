/** Operating the limiter: overrides, shadow rules, throttling, KV edits and increase requests. */
import { env } from 'cloudflare:workers';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { manualClock } from '../../src/clock';
import { type ConfigProblem, createConfigStore, kvKeys } from '../../src/policy/config-store';
import { DEFAULT_POLICY } from '../../src/policy/default-policy';
import type { CustomerRecord } from '../../src/policy/records';
import { resolvePolicy } from '../../src/policy/resolve-policy';
import { setLogSink } from '../../src/telemetry/log';
import { type Settings, type TestWorker, testWorker } from '../support/app';
import { createCustomer } from '../support/customers';

/** A fresh worker with an in-memory store and no config cache, unless `vars` say otherwise. */
const opsWorker = (vars: Settings = {}) =>
  testWorker({ LIMITER_STORE: 'memory', CONFIG_TTL_MS: '0', ...vars });

/** Overwrites a customer record in KV, as `wrangler kv key put` would (strings go in raw). */
function putCustomer(id: string, record: CustomerRecord | string): Promise<void> {
  return env.CONFIG.put(
    kvKeys.customer(id),
    typeof record === 'string' ? record : JSON.stringify(record),
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let logs: Record<string, unknown>[] = [];
let restoreSink: ((line: string) => void) | undefined;
beforeEach(() => {
  logs = [];
  restoreSink = setLogSink((line) => logs.push(JSON.parse(line) as Record<string, unknown>));
});
afterEach(() => {
  if (restoreSink) setLogSink(restoreSink);
});
const logged = (event: string) => logs.filter((l) => l.event === event);

describe('temporary overrides', () => {
  const expiresAt = Date.parse('2030-01-01T00:00:00.000Z');
  const customer: CustomerRecord = {
    tier: 'free',
    overrides: [
      {
        limits: [{ limit: 500, window: '1m' }],
        expiresAt: new Date(expiresAt).toISOString(),
        reason: 'launch',
      },
    ],
  };
  const at = (now: number) =>
    resolvePolicy({
      policy: DEFAULT_POLICY,
      tier: 'free',
      customer,
      method: 'GET',
      path: '/',
      now,
    });

  it('apply until 1 ms before expiry, raising only the window they name', () => {
    const policy = at(expiresAt - 1);
    expect(policy.windows.map((w) => [w.id, w.limit])).toEqual([
      ['minute', 500],
      ['day', 1000],
    ]);
    expect(policy.override?.reason).toBe('launch');
  });

  it('end by themselves at the expiry instant and after it', () => {
    for (const now of [expiresAt, expiresAt + 1]) {
      const policy = at(now);
      expect(policy.windows.map((w) => [w.id, w.limit])).toEqual([
        ['minute', 100],
        ['day', 1000],
      ]);
      expect(policy.override).toBeUndefined();
    }
  });

  it('turn a 200 into a 429 over HTTP once they expire', async () => {
    const w = opsWorker();
    // Long enough for the three requests below on a loaded machine (each waits for telemetry).
    const ends = Date.now() + 5_000;
    const { key } = await createCustomer(env.CONFIG, {
      tier: 'enterprise',
      limits: [{ limit: 2, window: '1m' }],
      overrides: [
        {
          limits: [{ limit: 5, window: '1m' }],
          expiresAt: new Date(ends).toISOString(),
          reason: 'load test',
        },
      ],
    });
    const headers = { 'X-API-Key': key };
    for (let i = 0; i < 3; i++) {
      const res = await w.fetch('/v1/items', { headers });
      expect(res.status).toBe(200);
      expect(res.headers.get('X-RateLimit-Limit')).toBe('5');
    }
    await sleep(Math.max(0, ends - Date.now()) + 50);
    const after = await w.fetch('/v1/items', { headers });
    expect(after.status).toBe(429);
    expect(after.headers.get('X-RateLimit-Limit')).toBe('2');
  });
});

describe('shadow rules', () => {
  it('never reject, but report would-reject from the request past the limit on', async () => {
    const w = opsWorker();
    const { customerId: id, key } = await createCustomer(env.CONFIG, {
      tier: 'pro',
      endpoints: [
        {
          id: 'trial',
          method: 'GET',
          path: '/v1/trial',
          limits: [{ limit: 2, window: '1m' }],
          shadow: true,
        },
      ],
    });
    const seen: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await w.fetch('/v1/trial', { headers: { 'X-API-Key': key } });
      expect(res.status).toBe(200);
      seen.push(res.headers.get('X-Edgelimit-Shadow') ?? '');
    }
    expect(seen).toEqual([
      'ok',
      'ok',
      'would-reject=trial:minute',
      'would-reject=trial:minute',
      'would-reject=trial:minute',
    ]);
    const lines = logged('shadow-would-reject');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatchObject({ subject: `customer ${id}`, windows: ['trial:minute'] });
  });

  it('come from the global policy as well as customer records', () => {
    const policy = resolvePolicy({
      policy: {
        ...DEFAULT_POLICY,
        endpoints: [
          { id: 'export', method: 'GET', path: '/v1/export', limits: { free: [] }, shadow: true },
          {
            id: 'export2',
            method: '*',
            path: '/v1/export',
            limits: { free: [{ limit: 1, window: '1h' }] },
            shadow: true,
          },
        ],
      },
      tier: 'free',
      method: 'GET',
      path: '/v1/export',
      now: 0,
    });
    expect(policy.windows.filter((w) => w.shadow).map((w) => w.id)).toEqual(['export2:hour']);
  });
});

describe('graduated throttling', () => {
  it('warns and slows past the soft threshold, and still rejects at limit + 1', async () => {
    const w = opsWorker();
    const { key } = await createCustomer(env.CONFIG, {
      tier: 'enterprise',
      limits: [{ limit: 4, window: '1m' }],
      throttle: { softAt: 0.5, maxDelayMs: 200 },
    });
    const headers = { 'X-API-Key': key };
    const seen: [number, string | null, string | null][] = [];
    let lastElapsed = 0;
    for (let i = 0; i < 5; i++) {
      const started = Date.now();
      const res = await w.fetch('/v1/items', { headers });
      lastElapsed = Date.now() - started;
      seen.push([
        res.status,
        res.headers.get('X-Edgelimit-Warning'),
        res.headers.get('X-Edgelimit-Delay'),
      ]);
      if (i === 3) expect(lastElapsed).toBeGreaterThanOrEqual(200);
    }
    expect(seen).toEqual([
      [200, null, null],
      [200, '50% of "minute" used', null],
      [200, '75% of "minute" used', '100'],
      [200, '100% of "minute" used', '200'],
      [429, null, null],
    ]);
  });

  it('is off unless the policy or the customer record turns it on', async () => {
    const w = opsWorker();
    const { key } = await createCustomer(env.CONFIG, {
      tier: 'enterprise',
      limits: [{ limit: 2, window: '1m' }],
    });
    for (let i = 0; i < 2; i++) {
      const res = await w.fetch('/v1/items', { headers: { 'X-API-Key': key } });
      expect(res.status).toBe(200);
      expect(res.headers.get('X-Edgelimit-Warning')).toBeNull();
    }
  });
});

describe('KV edits', () => {
  it('take effect once the config TTL has passed, not before (pinned clock)', async () => {
    const clock = manualClock(1_000);
    const { customerId: id } = await createCustomer(env.CONFIG, { tier: 'free' });
    const config = createConfigStore({ kv: env.CONFIG, clock, ttlMs: 10_000 });
    expect((await config.customer(id))?.tier).toBe('free');
    await putCustomer(id, { tier: 'pro' });
    clock.advance(9_999);
    expect((await config.customer(id))?.tier).toBe('free');
    clock.advance(1);
    expect((await config.customer(id))?.tier).toBe('pro');
  });

  it('reach live traffic after CONFIG_TTL_MS', async () => {
    const w = opsWorker({ CONFIG_TTL_MS: '300' });
    const { customerId: id, key } = await createCustomer(env.CONFIG, {
      tier: 'enterprise',
      limits: [{ limit: 10, window: '1m' }],
    });
    const headers = { 'X-API-Key': key };
    expect((await w.fetch('/v1/items', { headers })).headers.get('X-RateLimit-Limit')).toBe('10');
    await putCustomer(id, { tier: 'enterprise', limits: [{ limit: 20, window: '1m' }] });
    await sleep(350);
    expect((await w.fetch('/v1/items', { headers })).headers.get('X-RateLimit-Limit')).toBe('20');
  });

  it('keep the last good value when a record is malformed, and report it', async () => {
    const clock = manualClock(0);
    const problems: ConfigProblem[] = [];
    const { customerId: id } = await createCustomer(env.CONFIG, { tier: 'pro' });
    const config = createConfigStore({
      kv: env.CONFIG,
      clock,
      ttlMs: 1_000,
      onProblem: (p) => problems.push(p),
    });
    expect((await config.customer(id))?.tier).toBe('pro');
    await putCustomer(id, '{"tier":"gold"}');
    clock.advance(1_000);
    expect((await config.customer(id))?.tier).toBe('pro');
    await putCustomer(id, '{"tier": "free",');
    clock.advance(1_000);
    expect((await config.customer(id))?.tier).toBe('pro');
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatchObject({ key: `customer:${id}`, keptLastGood: true });
    expect(problems[0]?.message).toContain('tier');
    expect(problems[1]?.message).toContain('not valid JSON');
  });

  it('log and alert on a malformed record while traffic keeps the last good limits', async () => {
    const w = opsWorker();
    const { customerId: id, key } = await createCustomer(env.CONFIG, {
      tier: 'enterprise',
      limits: [{ limit: 7, window: '1m' }],
    });
    const headers = { 'X-API-Key': key };
    expect((await w.fetch('/v1/items', { headers })).headers.get('X-RateLimit-Limit')).toBe('7');
    await putCustomer(id, JSON.stringify({ tier: 'enterprise', limits: [{ limit: -1 }] }));
    const res = await w.fetch('/v1/items', { headers });
    expect(res.status).toBe(200);
    expect(res.headers.get('X-RateLimit-Limit')).toBe('7');
    expect(logged('config-error')[0]).toMatchObject({ key: `customer:${id}`, keptLastGood: true });
    expect(logged('alert').find((l) => l.kind === 'config-error')?.message).toContain(
      `customer:${id}`,
    );
  });
});

describe('POST /_edgelimit/usage/increase-request', () => {
  const path = '/_edgelimit/usage/increase-request';
  const post = (w: TestWorker, body: unknown, headers: Record<string, string> = {}) =>
    w.fetch(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it('accepts a valid request from an API key and alerts operators', async () => {
    const w = opsWorker();
    const { customerId: id, key } = await createCustomer(env.CONFIG, { tier: 'pro' });
    const until = new Date(Date.now() + 3 * 86_400_000).toISOString();
    const res = await post(
      w,
      { reason: 'Black Friday', limits: [{ limit: 5000, window: '1m' }], until },
      { Authorization: `Bearer ${key}` },
    );
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ received: true });
    expect(logged('increase-request')[0]).toMatchObject({
      customerId: id,
      reason: 'Black Friday',
      limits: ['5000/1m'],
      until,
    });
    const alert = logged('alert').find((l) => l.kind === 'increase-request');
    expect(alert).toMatchObject({ customerId: id });
    expect(alert?.message).toContain('5000/1m');
  });

  it('reaches the Slack webhook escaped: no <!channel> ping, no disguised link', async () => {
    const hook = `${inject('webhookUrl')}/hook-${crypto.randomUUID()}`;
    const w = opsWorker({ ALERT_WEBHOOK_URL: hook });
    const { key } = await createCustomer(env.CONFIG, { tier: 'pro' });
    const reason = '<!channel> urgent, see <https://evil.example/login|your dashboard> & reply';
    const res = await post(w, { reason }, { 'X-API-Key': key });
    expect(res.status).toBe(202);
    const got = (await (
      await fetch(
        `${inject('webhookUrl')}/_received?path=${encodeURIComponent(new URL(hook).pathname)}`,
      )
    ).json()) as { body: { text: string } }[];
    const text = got[0]?.body.text ?? '';
    expect(text).toContain(
      '&lt;!channel&gt; urgent, see &lt;https://evil.example/login|your dashboard&gt; &amp; reply',
    );
    expect(text).not.toMatch(/[<>]/);
  });

  it('refuses a body past 16 KiB with 413 before reading it whole', async () => {
    const w = opsWorker();
    const { key } = await createCustomer(env.CONFIG, { tier: 'pro' });
    const declared = await post(w, { reason: 'x'.repeat(20 * 1024 * 1024) }, { 'X-API-Key': key });
    expect(declared.status).toBe(413);
    expect(declared.headers.get('Content-Type')).toBe('application/problem+json');
    // Streamed without a length: refused once it passes the bound.
    let sent = 0;
    const chunk = new TextEncoder().encode('x'.repeat(4096));
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        sent += chunk.length;
        if (sent > 20 * 1024 * 1024) controller.close();
        else controller.enqueue(chunk);
      },
    });
    const streamed = await w.fetch(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-API-Key': key },
      body,
    });
    expect(streamed.status).toBe(413);
    expect(sent).toBeLessThan(1024 * 1024);
  });

  it('names the bad field in a 400 problem', async () => {
    const w = opsWorker();
    const { key } = await createCustomer(env.CONFIG, { tier: 'free' });
    const headers = { 'X-API-Key': key };
    const badWindow = await post(
      w,
      { reason: 'x', limits: [{ limit: 10, window: '1y' }] },
      headers,
    );
    expect(badWindow.status).toBe(400);
    expect(badWindow.headers.get('Content-Type')).toBe('application/problem+json');
    expect(((await badWindow.json()) as { detail: string }).detail).toContain('limits.0.window');
    const past = await post(w, { reason: 'x', until: '2001-01-01T00:00:00Z' }, headers);
    expect(((await past.json()) as { detail: string }).detail).toBe('until: must be in the future');
    const noReason = await post(w, { limits: [] }, headers);
    expect(((await noReason.json()) as { detail: string }).detail).toContain('reason');
    expect((await post(w, 'not json', headers)).status).toBe(400);
  });

  it('refuses callers without a valid API key and other methods', async () => {
    const w = opsWorker();
    expect((await post(w, { reason: 'x' })).status).toBe(401);
    expect((await post(w, { reason: 'x' }, { 'X-API-Key': 'no-such-key' })).status).toBe(401);
    expect(
      (await post(w, { reason: 'x' }, { 'X-Service-Token': 'test-service-token' })).status,
    ).toBe(401);
    const get = await w.fetch(path);
    expect(get.status).toBe(405);
    expect(get.headers.get('Allow')).toBe('POST');
  });

  it("answers the dashboard origin's CORS preflight and POST", async () => {
    const w = opsWorker({ DASHBOARD_ORIGIN: 'https://dash.example' });
    const preflight = await w.fetch(path, {
      method: 'OPTIONS',
      headers: {
        Origin: 'https://dash.example',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization,content-type',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('Access-Control-Allow-Origin')).toBe('https://dash.example');
    expect(preflight.headers.get('Access-Control-Allow-Methods')).toContain('POST');
    const { key } = await createCustomer(env.CONFIG, { tier: 'free' });
    const res = await post(
      w,
      { reason: 'x' },
      { Authorization: `Bearer ${key}`, Origin: 'https://dash.example' },
    );
    expect(res.status).toBe(202);
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe('https://dash.example');
    const other = await post(
      w,
      { reason: 'x' },
      { Authorization: `Bearer ${key}`, Origin: 'https://evil.example' },
    );
    expect(other.headers.get('Access-Control-Allow-Origin')).toBeNull();
  });

  it('takes at most 5 requests per customer per hour', async () => {
    const w = opsWorker();
    const { key } = await createCustomer(env.CONFIG, { tier: 'free' });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      statuses.push((await post(w, { reason: `try ${i}` }, { 'X-API-Key': key })).status);
    }
    expect(statuses).toEqual([202, 202, 202, 202, 202, 429]);
  });
});
