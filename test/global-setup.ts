/** Starts one real redis-server and the local Upstash REST server for the whole test run. */
import { randomBytes } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { startRedisServer } from '../scripts/lib/redis-server';
import { startUpstashLocal, type UpstashLocal } from '../scripts/upstash-local';
import { startChaos } from './support/chaos-server';
import { startOriginServer } from './support/origin-server';
import { startWebhookServer } from './telemetry/webhook-server';

declare module 'vitest' {
  export interface ProvidedContext {
    upstashUrl: string;
    upstashToken: string;
    redisPort: number;
    /** A second, breakable Redis behind its own local Upstash server (failure tests). */
    chaosUpstashUrl: string;
    chaosUpstashToken: string;
    chaosControlUrl: string;
    /** A real local webhook receiver with programmable failures (test/telemetry/webhook-server.ts). */
    webhookUrl: string;
    /** A real origin on 127.0.0.1 (test/support/origin-server.ts) and a port nothing listens on. */
    originUrl: string;
    deadOriginUrl: string;
  }
}

/** Vitest global setup: provides `upstashUrl`, `upstashToken` and `redisPort`; teardown stops both. */
export default async function setup(project: TestProject) {
  const redis = await startRedisServer();
  // A fresh token per run, so nothing can depend on a hard-coded credential.
  const token = randomBytes(18).toString('base64url');
  let upstash: UpstashLocal;
  try {
    upstash = await startUpstashLocal({ redisPort: redis.port, token });
  } catch (error) {
    await redis.stop();
    throw error;
  }
  project.provide('upstashUrl', upstash.url);
  project.provide('upstashToken', token);
  project.provide('redisPort', redis.port);
  const chaos = await startChaos();
  project.provide('chaosUpstashUrl', chaos.upstashUrl);
  project.provide('chaosUpstashToken', chaos.upstashToken);
  project.provide('chaosControlUrl', chaos.controlUrl);
  const webhook = await startWebhookServer();
  project.provide('webhookUrl', webhook.url);
  const origin = await startOriginServer();
  project.provide('originUrl', origin.url);
  project.provide('deadOriginUrl', origin.deadUrl);
  return async () => {
    await origin.stop();
    await webhook.stop();
    await chaos.stop();
    await upstash.stop();
    await redis.stop();
  };
}
