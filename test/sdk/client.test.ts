/** `withRateLimits` against the real worker: retries within the budget, and pacing. */
import { env, exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { CustomerRecord } from '../../src/policy/records';
import { type FetchLike, withRateLimits } from '../../src/sdk/client';
import { API, silenceLogs } from '../support/app';
import { createCustomer } from '../support/customers';

silenceLogs();

/** The real worker behind a fetch that counts what reaches it. */
function realWorker() {
  const seen: number[] = [];
  const fetch: FetchLike = async (input, init) => {
    const response = await exports.default.fetch(input, init);
    seen.push(response.status);
    return response;
  };
  return { fetch, seen };
}

/** A sleep that records each wait and returns at once: budget tests need no real waiting. */
function recordedSleep() {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
}

async function customer(limit: number, window: string) {
  const record: CustomerRecord = { tier: 'enterprise', limits: [{ limit, window }] };
  return createCustomer(env.CONFIG, record);
}

describe('withRateLimits retries', () => {
  it('waits Retry-After plus jitter and retries, up to maxRetries', async () => {
    const c = await customer(1, '1m');
    const worker = realWorker();
    const { waits, sleep } = recordedSleep();
    const api = withRateLimits(worker.fetch, {
      maxRetries: 2,
      maxWaitMs: 600_000,
      jitterMs: 100,
      random: () => 0.5,
      sleep,
    });
    expect((await api(`${API}/v1/a`, { headers: c.headers })).status).toBe(200);
    const refused = await api(`${API}/v1/a`, { headers: c.headers });
    // No time passed in the recorded sleep, so every retry is refused again; the last is returned.
    expect(refused.status).toBe(429);
    expect(worker.seen).toEqual([200, 429, 429, 429]);
    const retryAfter = Number(refused.headers.get('Retry-After'));
    expect(retryAfter).toBeGreaterThanOrEqual(59);
    // The waits come from the first two 429s, `retryAfter` from the third: a whole second may
    // have been crossed between them, so each waits Retry-After or one second more, plus jitter.
    expect(waits).toHaveLength(2);
    for (const wait of waits) {
      expect([retryAfter * 1000 + 50, (retryAfter + 1) * 1000 + 50]).toContain(wait);
    }
  });

  it('succeeds once Retry-After has really passed', async () => {
    const c = await customer(1, '1s');
    const worker = realWorker();
    const api = withRateLimits(worker.fetch, { jitterMs: 50 });
    expect((await api(`${API}/v1/b`, { headers: c.headers })).status).toBe(200);
    const retried = await api(`${API}/v1/b`, { headers: c.headers });
    expect(retried.status).toBe(200);
    expect(worker.seen).toEqual([200, 429, 200]);
  });

  it('returns the 429 at once when waiting would exceed maxWaitMs', async () => {
    const c = await customer(1, '1m');
    const worker = realWorker();
    const { waits, sleep } = recordedSleep();
    const api = withRateLimits(worker.fetch, { maxWaitMs: 5_000, sleep });
    await api(`${API}/v1/c`, { headers: c.headers });
    expect((await api(`${API}/v1/c`, { headers: c.headers })).status).toBe(429);
    expect(worker.seen).toEqual([200, 429]);
    expect(waits).toEqual([]);
  });

  it('never retries a non-idempotent method unless told to', async () => {
    const c = await customer(1, '1m');
    const worker = realWorker();
    const { sleep } = recordedSleep();
    const post = { method: 'POST', headers: c.headers, body: '{"q":1}' };
    await withRateLimits(worker.fetch, { sleep })(`${API}/v1/d`, post);
    expect((await withRateLimits(worker.fetch, { sleep })(`${API}/v1/d`, post)).status).toBe(429);
    expect(worker.seen).toEqual([200, 429]);
    const told = withRateLimits(worker.fetch, {
      sleep,
      retryNonIdempotent: true,
      maxRetries: 1,
      maxWaitMs: 600_000,
    });
    expect((await told(`${API}/v1/d`, post)).status).toBe(429);
    expect(worker.seen).toEqual([200, 429, 429, 429]);
  });

  it('retries a Request object with its body intact', async () => {
    const c = await customer(1, '1s');
    const seenBodies: string[] = [];
    const fetch: FetchLike = async (input, init) => {
      const request = new Request(input, init);
      seenBodies.push(await request.clone().text());
      return exports.default.fetch(request);
    };
    const api = withRateLimits(fetch, { retryNonIdempotent: true, jitterMs: 0 });
    const make = () =>
      new Request(`${API}/v1/e`, { method: 'POST', headers: c.headers, body: 'payload' });
    await api(make());
    expect((await api(make())).status).toBe(200);
    expect(seenBodies).toEqual(['payload', 'payload', 'payload']);
  });

  it('stops waiting when the caller aborts', async () => {
    const c = await customer(1, '1m');
    const api = withRateLimits(realWorker().fetch, { maxWaitMs: 600_000 });
    await api(`${API}/v1/f`, { headers: c.headers });
    const aborted = api(`${API}/v1/f`, { headers: c.headers, signal: AbortSignal.timeout(50) });
    await expect(aborted).rejects.toThrow(/abort|timeout/i);
  });
});

describe('withRateLimits quota', () => {
  it('exposes the windows the worker last announced, per origin', async () => {
    const c = await createCustomer(env.CONFIG, { tier: 'free' });
    const api = withRateLimits(realWorker().fetch);
    expect(api.quota()).toEqual([]);
    await api(`${API}/v1/g`, { headers: c.headers });
    const [minute, day] = api.quota();
    expect(minute).toMatchObject({ id: 'minute', limit: 100, windowSeconds: 60, remaining: 99 });
    expect(day).toMatchObject({ id: 'day', limit: 1000, windowSeconds: 86_400, remaining: 999 });
    expect(api.quota(API)).toEqual(api.quota());
    expect(api.quota('https://elsewhere.test')).toEqual([]);
  });
});

describe('withRateLimits pacing', () => {
  // 30 requests at 10 per 5 s: the 11th can go no earlier than 5 s after the 1st and the 21st no
  // earlier than 10 s, so 10 s of waiting is the minimum. Each of the two waits may add up to
  // 1 s because the worker rounds `t` up to whole seconds, plus the jitter.
  const LIMIT = 10;
  const WINDOW_MS = 5_000;
  const JITTER_MS = 50;
  const MIN_WAIT_MS = 2 * WINDOW_MS;
  const MAX_WAIT_MS = MIN_WAIT_MS + 2 * (1_000 + JITTER_MS);

  it('runs 30 sequential requests on 10 per 5 s with at most one 429, waiting close to the minimum', async () => {
    const c = await customer(LIMIT, '5s');
    const worker = realWorker();
    const waits: number[] = [];
    const sleep = (ms: number) => {
      waits.push(ms);
      return scheduler.wait(ms);
    };
    const api = withRateLimits(worker.fetch, {
      pace: true,
      jitterMs: JITTER_MS,
      maxWaitMs: 60_000,
      sleep,
    });
    const started = Date.now();
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) {
      const response = await api(`${API}/v1/paced/${i}`, { headers: c.headers });
      statuses.push(response.status);
      await response.body?.cancel();
    }
    const elapsed = Date.now() - started;
    const waited = waits.reduce((a, b) => a + b, 0);
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(worker.seen.filter((s) => s === 429).length).toBeLessThanOrEqual(1);
    // Time the requests themselves took counts towards the windows: on a loaded machine the
    // pacing waits shrink by it.
    expect(waited).toBeGreaterThanOrEqual(MIN_WAIT_MS - 1_000 - (elapsed - waited));
    expect(waited).toBeLessThanOrEqual(MAX_WAIT_MS);
    // The real limiter is exact: 30 allowed requests cannot fit in less than two windows.
    expect(elapsed).toBeGreaterThanOrEqual(MIN_WAIT_MS);
  }, 40_000);

  it('without pacing, the same loop meets a 429 at every window boundary', async () => {
    const c = await customer(LIMIT, '5s');
    const worker = realWorker();
    const { sleep } = recordedSleep();
    const api = withRateLimits(worker.fetch, { maxRetries: 0, sleep });
    for (let i = 0; i < 12; i++) await api(`${API}/v1/unpaced/${i}`, { headers: c.headers });
    expect(worker.seen.filter((s) => s === 429).length).toBe(2);
  });
});
