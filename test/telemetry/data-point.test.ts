import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { Decision } from '../../src/limiter/decide';
import {
  BLOB,
  DOUBLE,
  MAX_INDEX_BYTES,
  toDataPoint,
  truncateUtf8,
} from '../../src/telemetry/data-point';
import type { DecisionEvent } from '../../src/telemetry/telemetry';
import { createCustomer, randomIp } from '../support/customers';
import { appWith, metricsRecorder } from './helpers';

const encoder = new TextEncoder();

/** Checks the documented limits and returns blob/double readers by name. */
function read(point: AnalyticsEngineDataPoint | undefined) {
  expect(point).toBeDefined();
  const p = point as AnalyticsEngineDataPoint;
  const blobs = (p.blobs ?? []) as string[];
  const doubles = (p.doubles ?? []) as number[];
  const indexes = (p.indexes ?? []) as string[];
  expect(indexes).toHaveLength(1);
  expect(encoder.encode(indexes[0]).length).toBeLessThanOrEqual(MAX_INDEX_BYTES);
  expect(blobs.length).toBeLessThanOrEqual(20);
  expect(doubles.length).toBeLessThanOrEqual(20);
  expect(blobs.reduce((n, b) => n + encoder.encode(b).length, 0)).toBeLessThanOrEqual(16_384);
  expect(blobs.every((b) => typeof b === 'string')).toBe(true);
  expect(doubles.every((d) => typeof d === 'number' && Number.isFinite(d))).toBe(true);
  return {
    index: indexes[0],
    blob: (k: keyof typeof BLOB) => blobs[BLOB[k] - 1],
    double: (k: keyof typeof DOUBLE) => doubles[DOUBLE[k] - 1],
  };
}

describe('the data point written per decision', () => {
  it('follows the documented schema for allowed, rejected, bypassed and unauthenticated requests', async () => {
    const metrics = metricsRecorder();
    const app = appWith({ METRICS: metrics, LIMITER_STORE: 'memory' });
    const customer = await createCustomer(env.CONFIG, {
      tier: 'enterprise',
      limits: [{ limit: 1, window: '1m' }],
    });
    const ip = randomIp();

    await app.fetch('/v1/items?token=secret', { headers: customer.headers });
    await app.fetch('/v1/items', { headers: customer.headers });
    await app.fetch('/v1/items', { headers: { 'X-Service-Token': 'test-service-token' } });
    await app.fetch('/v1/items', {
      headers: { 'X-API-Key': 'not-a-real-key-123', 'CF-Connecting-IP': ip },
    });
    await app.fetch('/v1/items', { headers: { 'CF-Connecting-IP': ip } });
    expect(metrics.points).toHaveLength(5);

    const [allowed, rejected, bypassed, unauth, anon] = metrics.points.map(read);
    expect(allowed?.index).toBe(customer.customerId);
    expect(allowed?.blob('subject')).toBe(customer.customerId);
    expect(allowed?.blob('tier')).toBe('enterprise');
    expect(allowed?.blob('rule')).toBe('default');
    expect(allowed?.blob('outcome')).toBe('allowed');
    expect(allowed?.blob('method')).toBe('GET');
    expect(allowed?.blob('path')).toBe('/v1/items');
    expect(allowed?.blob('window')).toBe('minute');
    expect(allowed?.blob('store')).toBe('memory');
    expect(allowed?.blob('storeError')).toBe('');
    expect(allowed?.blob('callerKind')).toBe('customer');
    expect(allowed?.double('count')).toBe(1);
    expect(allowed?.double('storeLatencyMs')).toBeGreaterThanOrEqual(0);
    expect(allowed?.double('remaining')).toBe(0);
    expect(allowed?.double('status')).toBe(200);
    expect(allowed?.double('limit')).toBe(1);
    expect(allowed?.double('windowMs')).toBe(60_000);
    expect(allowed?.double('retryAfterS')).toBe(0);
    expect(allowed?.double('storeError')).toBe(0);

    expect(rejected?.blob('outcome')).toBe('rejected');
    expect(rejected?.double('status')).toBe(429);
    expect(rejected?.double('retryAfterS')).toBeGreaterThan(0);

    expect(bypassed?.blob('outcome')).toBe('bypassed');
    expect(bypassed?.blob('subject')).toMatch(/^svc:/);
    expect(bypassed?.blob('tier')).toBe('internal');
    expect(bypassed?.double('remaining')).toBe(-1);

    expect(unauth?.blob('callerKind')).toBe('unauthenticated');
    // A failed identification is neither a pass nor a rejection: it has its own outcome.
    expect(unauth?.blob('outcome')).toBe('unauthenticated');
    expect(unauth?.blob('subject')).toMatch(/^unauth:[0-9a-f]{16}$/);
    expect(unauth?.double('status')).toBe(401);
    expect(anon?.blob('subject')).toBe(unauth?.blob('subject')?.replace('unauth:', 'anon:'));

    // Never a key, a token or a client address, anywhere in any point.
    const all = JSON.stringify(metrics.points);
    expect(all).not.toContain(customer.key);
    expect(all).not.toContain('not-a-real-key-123');
    expect(all).not.toContain('test-service-token');
    expect(all).not.toContain(ip);
    expect(all).not.toContain('secret');
  });

  it('marks failed-open and failed-closed decisions with the store error', async () => {
    const metrics = metricsRecorder();
    // Nothing listens on port 9: every Redis call fails at once.
    const app = appWith({
      METRICS: metrics,
      LIMITER_STORE: 'redis',
      UPSTASH_REDIS_REST_URL: 'http://127.0.0.1:9',
      UPSTASH_REDIS_REST_TOKEN: 'x',
      STORE_BUDGET_MS: '200',
    });
    const open = await createCustomer(env.CONFIG, { tier: 'free' });
    const closed = await createCustomer(env.CONFIG, { tier: 'pro', failMode: 'closed' });
    const a = await app.fetch('/v1/items', { headers: open.headers });
    const b = await app.fetch('/v1/items', { headers: closed.headers });
    expect([a.status, b.status]).toEqual([200, 503]);
    const [failedOpen, failedClosed] = metrics.points.map(read);
    expect(failedOpen?.blob('outcome')).toBe('failed-open');
    expect(failedOpen?.blob('storeError')).not.toBe('');
    expect(failedOpen?.double('storeError')).toBe(1);
    expect(failedClosed?.blob('outcome')).toBe('failed-closed');
    expect(failedClosed?.double('status')).toBe(503);
    expect(failedClosed?.double('storeError')).toBe(1);
  });
});

describe('toDataPoint', () => {
  const decision: Decision = {
    outcome: 'bypassed',
    now: 0,
    windows: [],
    shadow: [],
    storeLatencyMs: 0,
    store: 'none',
  };

  it('keeps the index within 96 bytes for long multi-byte service names', () => {
    const event: DecisionEvent = {
      decision,
      caller: { kind: 'service', service: 'é'.repeat(200), ip: '1.2.3.4' },
      tier: 'internal',
      method: 'GET',
      path: `/${'p'.repeat(5000)}`,
      status: 200,
    };
    const point = toDataPoint(event, 'abc');
    const index = (point.indexes ?? [])[0] as string;
    expect(encoder.encode(index).length).toBeLessThanOrEqual(96);
    expect(index.startsWith('svc:é')).toBe(true);
    expect(((point.blobs ?? [])[BLOB.path - 1] as string).length).toBe(256);
  });

  it('counts the shadow windows that would have rejected', () => {
    const shadowWindow = {
      id: 'trial:minute',
      limit: 1,
      windowMs: 60_000,
      window: '1m',
      rule: 'trial',
      shadow: true,
      used: 1,
      remaining: 0,
      retryAt: 5_000,
      resetAt: 5_000,
    };
    const event: DecisionEvent = {
      decision: {
        ...decision,
        outcome: 'allowed',
        shadow: [
          { ...shadowWindow, wouldReject: true },
          { ...shadowWindow, id: 'trial:day', wouldReject: false },
        ],
      },
      tier: 'free',
      method: 'GET',
      path: '/v1/x',
      status: 200,
    };
    const shadowed = read(toDataPoint(event, 'abc'));
    expect(shadowed.double('shadowWouldReject')).toBe(1);
    expect(read(toDataPoint({ ...event, decision }, 'abc')).double('shadowWouldReject')).toBe(0);
  });

  it('truncates UTF-8 without splitting a character', () => {
    expect(truncateUtf8('aé', 2)).toBe('a');
    expect(truncateUtf8('abc', 96)).toBe('abc');
  });
});
