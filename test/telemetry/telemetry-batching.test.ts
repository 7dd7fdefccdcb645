/**
 * The isolate's telemetry calls the usage object once per batch, not once per request: under a
 * steady stream of decisions the per-request wait of the old flush found one new decision each
 * time and sent it alone. The counts the usage object ends with stay exact.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock';
import type { Caller } from '../../src/identity/identify';
import type { Decision } from '../../src/limiter/decide';
import { createTelemetry } from '../../src/telemetry/create-telemetry';
import type { UsageNamespace, UsageRpc } from '../../src/telemetry/embedded-usage';
import type { DecisionEvent } from '../../src/telemetry/telemetry';
import { spanOf } from '../../src/telemetry/usage-source';

/** The real usage namespace on an instance of its own, counting `record` calls. */
function countingUsage() {
  const name = `batching-${crypto.randomUUID()}`;
  const stub = env.USAGE.get(env.USAGE.idFromName(name));
  const calls = { record: 0 };
  const namespace: UsageNamespace = {
    idFromName: () => env.USAGE.idFromName(name),
    get: () =>
      ({
        record: (...args: Parameters<UsageRpc['record']>) => {
          calls.record++;
          return stub.record(...args);
        },
      }) as unknown as UsageRpc,
  };
  return { namespace, stub, calls };
}

const customer: Caller = { kind: 'customer', customerId: 'acme', keyHash: 'h', ip: '10.0.0.1' };

function decided(now: number, outcome: 'allowed' | 'rejected' = 'allowed'): DecisionEvent {
  const decision: Decision = {
    outcome,
    now,
    windows: [],
    shadow: [],
    storeLatencyMs: 0,
    store: 'durable-object',
  };
  return { decision, caller: customer, tier: 'pro', method: 'GET', path: '/v1/items', status: 200 };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('telemetry batching', () => {
  it('sends a steady stream of decisions in one RPC per flush delay, every decision counted', async () => {
    const usage = countingUsage();
    const telemetry = createTelemetry({
      usage: usage.namespace,
      clock: systemClock,
      flushDelayMs: 100,
    });
    // 30 decisions 10 ms apart (300 ms): each one's flush waited 100 ms and found only the
    // decision made since the previous flush, so every decision was an RPC of its own.
    const started = Date.now();
    const sent: Promise<void>[] = [];
    for (let i = 0; i < 30; i++) {
      sent.push(telemetry.onDecision(decided(Date.now())));
      await pause(10);
    }
    await Promise.all(sent);
    const elapsed = Date.now() - started;
    // One RPC per 100 ms of the stream, and one for its tail.
    expect(usage.calls.record).toBeLessThanOrEqual(Math.ceil(elapsed / 100) + 1);
    const totals = (await usage.stub.customerUsage('acme', spanOf('1h', 'minute', Date.now())))
      .totals;
    expect(totals).toMatchObject({ allowed: 30, rejected: 0 });
  });

  it('resolves each decision only once the batch carrying it is recorded', async () => {
    const usage = countingUsage();
    const telemetry = createTelemetry({
      usage: usage.namespace,
      clock: systemClock,
      flushDelayMs: 50,
    });
    const first = telemetry.onDecision(decided(Date.now()));
    await pause(20);
    // Joins the batch the first decision opened: its promise is the same flush.
    const second = telemetry.onDecision(decided(Date.now()));
    await second;
    const span = spanOf('1h', 'minute', Date.now());
    expect((await usage.stub.customerUsage('acme', span)).totals.allowed).toBe(2);
    await first;
    expect(usage.calls.record).toBe(1);
  });

  it('flushes a batch at once when it holds maxBatchEvents decisions', async () => {
    const usage = countingUsage();
    const telemetry = createTelemetry({
      usage: usage.namespace,
      clock: systemClock,
      // Far longer than the test: only the event bound can send these.
      flushDelayMs: 60_000,
      maxBatchEvents: 5,
    });
    await Promise.all(Array.from({ length: 10 }, () => telemetry.onDecision(decided(Date.now()))));
    expect(usage.calls.record).toBe(2);
    const span = spanOf('1h', 'minute', Date.now());
    expect((await usage.stub.customerUsage('acme', span)).totals.allowed).toBe(10);
  });

  it('keeps every rejection of a full batch, so grouped rejections count them all', async () => {
    const usage = countingUsage();
    const telemetry = createTelemetry({ usage: usage.namespace, clock: systemClock });
    // A flood within one flush delay: one batch of 300 rejections (a batch used to keep 100).
    await Promise.all(
      Array.from({ length: 300 }, () => telemetry.onDecision(decided(Date.now(), 'rejected'))),
    );
    expect(usage.calls.record).toBe(1);
    const report = await usage.stub.customerUsage('acme', spanOf('1h', 'minute', Date.now()));
    expect(report.totals.rejected).toBe(300);
    expect(report.rejectionGroups.map((g) => g.count)).toEqual([300]);
  });
});
