/**
 * A second Redis + local Upstash pair that failure tests may break on purpose, and a small HTTP
 * control server workerd tests call to break and heal it (they cannot spawn processes themselves).
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type RedisServer, startRedisServer } from '../../scripts/lib/redis-server';
import { startUpstashLocal } from '../../scripts/upstash-local';

/** A running chaos pair. */
export interface Chaos {
  /** Upstash REST URL and token of the breakable pair. */
  readonly upstashUrl: string;
  readonly upstashToken: string;
  /** Control endpoint: POST /redis/stop, /redis/start, /delay?ms=N; GET /stats. */
  readonly controlUrl: string;
  stop(): Promise<void>;
}

/** Starts the breakable pair and its control server on 127.0.0.1. */
export async function startChaos(): Promise<Chaos> {
  let redis: RedisServer | undefined = await startRedisServer();
  const port = redis.port;
  const token = randomBytes(18).toString('base64url');
  const upstash = await startUpstashLocal({ redisPort: port, token });

  const control = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://control');
    const done = (body: unknown) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    (async () => {
      if (url.pathname === '/redis/stop') {
        await redis?.stop();
        redis = undefined;
        return done({ redis: 'stopped' });
      }
      if (url.pathname === '/redis/start') {
        if (!redis) redis = await startRedisServer({ port });
        return done({ redis: 'running' });
      }
      if (url.pathname === '/delay') {
        upstash.setDelay(Number(url.searchParams.get('ms') ?? '0'));
        return done({ delayMs: Number(url.searchParams.get('ms') ?? '0') });
      }
      if (url.pathname === '/stats') return done(upstash.stats());
      if (url.pathname === '/stats/reset') {
        upstash.resetStats();
        return done(upstash.stats());
      }
      res.writeHead(404).end();
    })().catch((error: unknown) => {
      res.writeHead(500).end(String(error));
    });
  });
  await new Promise<void>((r) => control.listen(0, '127.0.0.1', r));
  const { port: controlPort } = control.address() as AddressInfo;

  return {
    upstashUrl: upstash.url,
    upstashToken: token,
    controlUrl: `http://127.0.0.1:${controlPort}`,
    async stop() {
      await new Promise<void>((r) => control.close(() => r()));
      await upstash.stop();
      await redis?.stop();
    },
  };
}
