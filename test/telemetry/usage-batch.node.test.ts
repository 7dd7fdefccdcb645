/** Folding decisions into a usage batch: the load rows for units, charges and requests in flight. */
import { describe, expect, it } from 'vitest';
import type { Decision } from '../../src/limiter/decide';
import { addDecision, emptyBatch } from '../../src/telemetry/usage-batch';

const NOW = Date.UTC(2030, 0, 15, 12, 0, 30);
const caller = { kind: 'customer', customerId: 'acme', keyHash: 'h', ip: '10.0.0.1' } as const;

function decision(part: Partial<Decision>): Decision {
  return {
    outcome: 'allowed',
    now: NOW,
    windows: [],
    shadow: [],
    storeLatencyMs: 0,
    store: 'memory',
    ...part,
  };
}

const slots = (used: number) => ({
  id: 'concurrency',
  kind: 'concurrency' as const,
  limit: 3,
  windowMs: 60_000,
  window: 'in flight',
  used,
  remaining: 3 - used,
  retryAt: NOW,
  resetAt: NOW,
});

describe('addDecision load rows', () => {
  it('adds none for plain requests: one request, one unit, no slots', () => {
    const batch = emptyBatch();
    addDecision(batch, {
      decision: decision({}),
      caller,
      tier: 'pro',
      method: 'GET',
      path: '/',
      status: 200,
    });
    expect(batch.load).toEqual([]);
  });

  it('keeps extra units of allowed weighted requests, origin charges and the peak in flight', () => {
    const batch = emptyBatch();
    const event = { caller, tier: 'pro', method: 'GET', path: '/', status: 200 };
    addDecision(batch, { ...event, decision: decision({ cost: 5, windows: [slots(2)] }) });
    addDecision(batch, { ...event, decision: decision({ windows: [slots(3)] }), charged: 700 });
    addDecision(batch, {
      ...event,
      status: 429,
      decision: decision({ outcome: 'rejected', cost: 5, windows: [slots(3)] }),
    });
    expect(batch.load).toEqual([
      { t: Date.UTC(2030, 0, 15, 12), customer: 'acme', extra: 4, charged: 700, peak: 3, limit: 3 },
    ]);
  });
});
