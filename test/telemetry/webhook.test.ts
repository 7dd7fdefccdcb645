import { describe, expect, inject, it } from 'vitest';
import { webhookPayload } from '../../src/telemetry/alerts';
import { postWithRetry } from '../../src/telemetry/webhook';

const base = inject('webhookUrl');

async function program(path: string, fail: number, status = 500) {
  await fetch(`${base}/_control`, { method: 'POST', body: JSON.stringify({ fail, status, path }) });
}

async function received(path: string): Promise<{ body: unknown; status: number }[]> {
  const res = await fetch(`${base}/_received?path=${encodeURIComponent(path)}`);
  return (await res.json()) as { body: unknown; status: number }[];
}

describe('postWithRetry against a real local webhook', () => {
  it('retries on 500 and delivers on the third attempt', async () => {
    const path = `/hook-${crypto.randomUUID()}`;
    await program(path, 2);
    const body = webhookPayload({
      time: 0,
      kind: 'exceeded',
      severity: 'warning',
      customerId: 'acme',
      message: 'over',
      fields: { window: 'minute' },
    });
    const result = await postWithRetry(`${base}${path}`, body, { baseDelayMs: 5 });
    expect(result).toEqual({ delivered: true, attempts: 3, last: 200 });
    const got = await received(path);
    expect(got.map((r) => r.status)).toEqual([500, 500, 200]);
    expect(got[2]?.body).toMatchObject({
      text: expect.stringContaining('exceeded'),
      kind: 'exceeded',
      customerId: 'acme',
      fields: { window: 'minute' },
    });
  });

  it('gives up after the bound, backing off exponentially', async () => {
    const path = `/hook-${crypto.randomUUID()}`;
    await program(path, 100, 503);
    const started = Date.now();
    const result = await postWithRetry(
      `${base}${path}`,
      { text: 'x' },
      { attempts: 4, baseDelayMs: 20 },
    );
    expect(result).toEqual({ delivered: false, attempts: 4, last: 503 });
    expect(await received(path)).toHaveLength(4);
    // 20 + 40 + 80 ms of backoff at least.
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('does not retry a 4xx other than 429', async () => {
    const path = `/hook-${crypto.randomUUID()}`;
    await program(path, 5, 400);
    const result = await postWithRetry(`${base}${path}`, { text: 'x' }, { baseDelayMs: 1 });
    expect(result).toEqual({ delivered: false, attempts: 1, last: 400 });
  });

  it('retries when nothing answers, and reports the error', async () => {
    const result = await postWithRetry(
      'http://127.0.0.1:9/hook',
      { text: 'x' },
      { attempts: 2, baseDelayMs: 1 },
    );
    expect(result.delivered).toBe(false);
    expect(result.attempts).toBe(2);
    expect(typeof result.last).toBe('string');
  });
});
