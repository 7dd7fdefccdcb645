/**
 * A tiny real webhook receiver for alert tests (started by the vitest global setup in Node):
 * records every POST by path and answers with a status tests program through a control endpoint.
 *
 * - `POST /<any path>`: recorded; answers 200, or the programmed failure status while failures remain.
 * - `POST /_control {"fail": 2, "status"?: 500, "path"?: "/hook-a"}`: the next 2 POSTs (to that path,
 *   or to any path) answer `status`.
 * - `GET /_received?path=/hook-a`: `[{ path, body, status }]` in arrival order (all paths without `path`).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A running webhook receiver. */
export interface WebhookServer {
  readonly url: string;
  stop(): Promise<void>;
}

interface Received {
  readonly path: string;
  readonly body: unknown;
  readonly status: number;
}

/** Starts the receiver on 127.0.0.1 and a free port. */
export async function startWebhookServer(): Promise<WebhookServer> {
  const received: Received[] = [];
  const failures = new Map<string, { left: number; status: number }>();

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://webhook');
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.method === 'GET' && url.pathname === '/_received') {
        const path = url.searchParams.get('path');
        return reply(200, path ? received.filter((r) => r.path === path) : received);
      }
      if (req.method === 'POST' && url.pathname === '/_control') {
        const body = parse(text) as { fail?: number; status?: number; path?: string };
        failures.set(body.path ?? '*', { left: body.fail ?? 0, status: body.status ?? 500 });
        return reply(200, { ok: true });
      }
      if (req.method !== 'POST') return reply(405, { error: 'POST only' });
      const rule = failures.get(url.pathname) ?? failures.get('*');
      const failing = rule !== undefined && rule.left > 0;
      if (rule && failing) rule.left--;
      const status = failing && rule ? rule.status : 200;
      received.push({ path: url.pathname, body: parse(text), status });
      return reply(status, status === 200 ? { ok: true } : { error: 'programmed failure' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
