/** The built-in demo origin's knobs for trying concurrency limits and origin charges. */
import { describe, expect, it } from 'vitest';
import { demoDelay, MAX_DEMO_DELAY_MS } from '../../src/http/demo-origin';
import { silenceLogs, testWorker } from '../support/app';

silenceLogs();

describe('demo origin', () => {
  it('reads ?delay= as whole milliseconds, capped at 10 s; anything else is no delay', () => {
    expect(MAX_DEMO_DELAY_MS).toBe(10_000);
    expect([demoDelay('250'), demoDelay('250.7'), demoDelay('60000')]).toEqual([250, 250, 10_000]);
    for (const bad of [null, '', '-5', 'soon', 'Infinity', 'NaN']) expect(demoDelay(bad)).toBe(0);
  });

  it('charges ?charge= through the worker: the demo customer spends 500 of 1,000 tokens', async () => {
    const worker = testWorker({ ORIGIN_URL: 'demo', LIMITER_STORE: 'memory' });
    const response = await worker.fetch('/v1/complete?charge=500', {
      headers: { 'X-API-Key': 'demo-ai-key' },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('X-Edgelimit-Charge')).toBeNull();
    expect(response.headers.get('RateLimit-Policy')).toBe(
      '"minute";q=1000;w=60, "minute-tokens";q=1000;w=60, "concurrency";q=2;qu="concurrent-requests"',
    );
    expect(response.headers.get('RateLimit')).toMatch(
      /"minute-tokens";r=500;t=\d+, "concurrency";r=\d$/,
    );
  });
});
