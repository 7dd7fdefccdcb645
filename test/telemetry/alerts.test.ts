import { env } from 'cloudflare:workers';
import { describe, expect, inject, it } from 'vitest';
import type { Decision } from '../../src/limiter/decide';
import { customerAlertCandidates } from '../../src/telemetry/alerts';
import { usageStub } from '../../src/telemetry/embedded-usage';
import { setLogSink } from '../../src/telemetry/log';
import { untilPeriodHasLeft } from '../support/clock-edge';
import { createCustomer } from '../support/customers';
import { appWith } from './helpers';

const hookBase = inject('webhookUrl');

async function received(path: string) {
  const res = await fetch(`${hookBase}/_received?path=${encodeURIComponent(path)}`);
  return (await res.json()) as {
    body: { kind: string; customerId?: string; text: string };
    status: number;
  }[];
}

describe('customer alerts', () => {
  it('raise one exceeded and one approaching alert per window for 100 rejections, across isolates', async () => {
    const path = `/hook-${crypto.randomUUID()}`;
    const lines: string[] = [];
    const previous = setLogSink((line) => lines.push(line));
    try {
      // Alerts are deduplicated per hour-aligned window: the traffic must not straddle an hour.
      await untilPeriodHasLeft(3_600_000, 5_000);
      const customer = await createCustomer(env.CONFIG, {
        tier: 'enterprise',
        limits: [{ limit: 5, window: '1h' }],
      });
      const overrides = { LIMITER_STORE: 'memory', ALERT_WEBHOOK_URL: `${hookBase}${path}` };
      // Two apps on two env objects stand for two isolates: separate services, telemetry and
      // in-isolate dedup caches. Each has its own memory store, so each allows 5 and rejects 50;
      // only the usage object's shared dedup state can keep the second from alerting again.
      const first = appWith(overrides);
      const second = appWith(overrides);
      const statuses: number[] = [];
      for (const app of [first, second]) {
        const responses = await Promise.all(
          Array.from({ length: 55 }, () => app.fetch('/v1/items', { headers: customer.headers })),
        );
        statuses.push(...responses.map((r) => r.status));
      }
      expect(statuses.filter((s) => s === 429)).toHaveLength(100);

      const alerts = (await usageStub(env.USAGE).recentAlerts(200)).filter(
        (a) => a.customerId === customer.customerId,
      );
      expect(alerts.map((a) => a.kind).sort()).toEqual(['approaching', 'exceeded']);
      const posted = await received(path);
      expect(posted.map((p) => p.body.kind).sort()).toEqual(['approaching', 'exceeded']);
      expect(
        posted.every((p) => p.body.customerId === customer.customerId && p.body.text.length > 0),
      ).toBe(true);
      const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(
        logged.filter((l) => l.event === 'alert' && l.customerId === customer.customerId),
      ).toHaveLength(2);
      expect(
        logged.filter(
          (l) => l.event === 'approaching-limit' && l.customerId === customer.customerId,
        ).length,
      ).toBeGreaterThanOrEqual(1);
      expect(lines.join('\n')).not.toContain(customer.key);
    } finally {
      setLogSink(previous);
    }
  });

  it('raises approaching at the configured threshold and not below it', () => {
    const decision = (used: number): Decision => ({
      outcome: 'allowed',
      now: 0,
      windows: [
        {
          id: 'minute',
          limit: 10,
          windowMs: 60_000,
          window: '1m',
          used,
          remaining: 10 - used,
          retryAt: 0,
          resetAt: 0,
        },
      ],
      shadow: [],
      storeLatencyMs: 0,
      store: 'memory',
    });
    const caller = { kind: 'customer', customerId: 'acme', keyHash: 'h', ip: '1.1.1.1' } as const;
    const event = (used: number) => ({
      decision: decision(used),
      caller,
      tier: 'free',
      method: 'GET',
      path: '/',
      status: 200,
    });
    expect(customerAlertCandidates(event(7), 0.8)).toEqual([]);
    expect(customerAlertCandidates(event(8), 0.8).map((c) => c.alert.kind)).toEqual([
      'approaching',
    ]);
    expect(customerAlertCandidates(event(5), 0.5)[0]?.dedupKey).toBe('approaching:acme:minute:0');
    expect(
      customerAlertCandidates({ ...event(9), caller: { kind: 'anonymous', ip: '1.1.1.1' } }, 0.8),
    ).toEqual([]);
  });
});
