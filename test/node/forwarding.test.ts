/** Forwarding through real `wrangler dev` to a real origin on 127.0.0.1: bodies keep their length. */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevStack, startDevStack } from '../../scripts/lib/dev-stack';
import { type OriginServer, startOriginServer } from '../support/origin-server';

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? done(port) : fail(new Error('no free port'))));
    });
  });
}

describe('forwarding through wrangler dev', () => {
  let origin: OriginServer;
  let stack: DevStack;

  beforeAll(async () => {
    origin = await startOriginServer();
    stack = await startDevStack({
      workerPort: await freePort(),
      dashboardPort: false,
      vars: { ORIGIN_URL: origin.url },
      log: () => {},
    });
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    await origin?.stop();
  });

  it('keeps the Content-Length the client sent instead of re-chunking the body', async () => {
    const body = JSON.stringify({ q: 'x'.repeat(5000) });
    const response = await fetch(`${stack.workerUrl}/v1/search`, {
      method: 'POST',
      headers: { 'X-API-Key': 'demo-pro-key', 'Content-Type': 'application/json' },
      body,
    });
    expect(response.status).toBe(200);
    const seen = (await response.json()) as { headers: Record<string, string>; bodyLength: number };
    expect(seen.bodyLength).toBe(body.length);
    expect(seen.headers['transfer-encoding']).toBeUndefined();
    expect(seen.headers['content-length']).toBe(String(body.length));
  });
});
