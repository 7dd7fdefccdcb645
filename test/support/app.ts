/** Test builders for calling the worker: the real entry, or a fresh app with overridden settings. */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { afterEach, beforeEach } from 'vitest';
import { createApp } from '../../src/app';
import type { Bindings } from '../../src/env';
import { type LogSink, setLogSink } from '../../src/telemetry/log';

/** Base URL of every test request; the host is irrelevant to the worker. */
export const API = 'http://api.test';

/** String settings a test may override: vars and secrets, never bindings. */
export type Settings = {
  [K in keyof Bindings]?: Bindings[K] extends string | undefined ? string : never;
};

/** A worker to send requests to, with the env it runs on. */
export interface TestWorker {
  readonly env: Bindings;
  fetch(path: string, init?: RequestInit): Promise<Response>;
}

/** The deployed worker entry (`exports.default`) with the test bindings of vitest.config.ts. */
export const worker: TestWorker = {
  env,
  fetch: (path, init) => exports.default.fetch(`${API}${path}`, init),
};

/**
 * A fresh app on a fresh env spread: settings and services are cached per env object, so
 * `overrides` (e.g. `{ LIMITER_STORE: 'memory', CONFIG_TTL_MS: '0' }`) take effect here only.
 * Waits for `waitUntil` work so telemetry cannot outlive the test.
 */
export function testWorker(
  overrides: Settings = {},
  bindings: Partial<Pick<Bindings, 'CONFIG'>> = {},
): TestWorker {
  const app = createApp();
  const appEnv: Bindings = { ...env, ...bindings, ...overrides };
  return {
    env: appEnv,
    async fetch(path, init) {
      const ctx = createExecutionContext();
      const response = await app.fetch(new Request(`${API}${path}`, init), appEnv, ctx);
      await waitOnExecutionContext(ctx);
      return response;
    },
  };
}

/** What the demo origin says it received. */
export interface OriginEcho {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
}

/** Reads the demo origin's echo from a forwarded response. */
export async function originEcho(response: Response): Promise<OriginEcho> {
  return (await response.json()) as OriginEcho;
}

/** Sends `count` requests at once and returns the responses in order. */
export function burst(
  target: TestWorker,
  count: number,
  path: string,
  init?: RequestInit,
): Promise<Response[]> {
  return Promise.all(Array.from({ length: count }, () => target.fetch(path, init)));
}

/** Sends `count` requests one after another and returns the responses in order. */
export async function sequence(
  target: TestWorker,
  count: number,
  path: string,
  init?: RequestInit,
): Promise<Response[]> {
  const out: Response[] = [];
  for (let i = 0; i < count; i++) {
    const response = await target.fetch(path, init);
    out.push(response);
  }
  return out;
}

/** Counts responses by status. */
export function statusCounts(responses: readonly Response[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const r of responses) counts[r.status] = (counts[r.status] ?? 0) + 1;
  return counts;
}

/** Swallows structured log lines for the tests of the calling file (they are asserted elsewhere). */
export function silenceLogs(): void {
  let restore: LogSink | undefined;
  beforeEach(() => {
    restore = setLogSink(() => {});
  });
  afterEach(() => {
    if (restore) setLogSink(restore);
  });
}

/** A KV namespace that counts the reads made through it (real KV underneath), by key prefix. */
export function countingKv(kv: KVNamespace): { kv: KVNamespace; reads(prefix?: string): number } {
  const keys: string[] = [];
  const counted = new Proxy(kv, {
    get(target, property) {
      const value = Reflect.get(target, property, target);
      if (property === 'get' || property === 'getWithMetadata') {
        return (...args: unknown[]) => {
          keys.push(String(args[0]));
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return {
    kv: counted,
    reads: (prefix = '') => keys.filter((k) => k.startsWith(prefix)).length,
  };
}
