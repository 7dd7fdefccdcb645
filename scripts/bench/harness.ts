/**
 * Benchmark plumbing: bundles the workers with esbuild, runs them in workerd through Miniflare's
 * API (no `wrangler dev` proxy in the way), and starts redis-server with the local Upstash server.
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { build } from 'esbuild';
import {
  convertV4MiniflareOptions,
  Log,
  LogLevel,
  Miniflare,
  NoOpLog,
  type V4MiniflareOptions,
} from 'miniflare';
import { unstable_getMiniflareWorkerOptions } from 'wrangler';
import { z } from 'zod';
import { type RedisServer, startRedisServer } from '../lib/redis-server';
import type { UpstashLocalStats } from '../upstash-local';
import { cpuMs, workerdPids } from './proc-cpu';
import type { ControlMessage } from './upstash-child';

/** Repository root (scripts/bench/../..). */
export const ROOT = resolve(import.meta.dirname, '..', '..');

/** Every request goes to this made-up host; Miniflare hands it to the worker as is. */
const BASE_URL = 'http://bench.local';

/** Credentials of the benchmark workers (local only). */
export const BENCH_SERVICE_TOKEN = 'bench-service-token';
export const BENCH_ADMIN_TOKEN = 'bench-admin-token';

/** The edgelimit store modes the benchmark knows; ones the worker refuses are reported as n/a. */
export const STORE_MODES = ['memory', 'durable-object', 'redis', 'hybrid'] as const;
export type StoreMode = (typeof STORE_MODES)[number];

/** What one request through a worker answered. */
export interface BenchResponse {
  readonly status: number;
  readonly headers: Headers;
}

/** What the harness may set on a request. */
export interface RequestOptions {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

/** A worker running in its own workerd process. */
export interface BenchWorker {
  readonly name: string;
  /** Sends one request and reads the whole body, so the timing covers the full response. */
  fetch(path: string, init?: RequestOptions): Promise<BenchResponse>;
  /** Sends one request and parses the body as JSON (`undefined` when it is not JSON). */
  fetchJson(path: string, init?: RequestOptions): Promise<{ status: number; body: unknown }>;
  /**
   * CPU time its workerd process(es) used so far, ms (Linux `/proc`, 10 ms resolution);
   * absent where it cannot be read.
   */
  cpuMs?(): Promise<number>;
  dispose(): Promise<void>;
}

/** Most delay the local Upstash server accepts (`upstash-child.ts`), ms. */
export const MAX_RTT_MS = 1_000;

/**
 * A `--rtt` option as whole ms from 0 to {@link MAX_RTT_MS}; anything else throws a message that
 * names the option and the value, before any worker starts.
 */
export function parseRttMs(text: string): number {
  const ms = Number(text);
  if (text.trim() === '' || !Number.isInteger(ms) || ms < 0 || ms > MAX_RTT_MS) {
    throw new Error(
      `--rtt: expected whole ms from 0 to ${MAX_RTT_MS}, got ${JSON.stringify(text)}`,
    );
  }
  return ms;
}

/** redis-server plus the local Upstash REST server in front of it (in a child process). */
export interface RedisStack {
  readonly url: string;
  readonly token: string;
  /** Delay the Upstash server adds before answering each HTTP request: the simulated RTT. */
  setDelay(ms: number): Promise<void>;
  /** Redis commands and HTTP requests the Upstash server handled since the last reset. */
  stats(): Promise<StackStats>;
  resetStats(): Promise<void>;
  stop(): Promise<void>;
}

/** `Omit` applied to each member of a union, so the discriminant still narrows. */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

const replySchema = z.object({
  id: z.number(),
  stats: z.object({
    commands: z.number(),
    requests: z.number(),
    billed: z.number(),
    calls: z.record(z.string(), z.number()),
  }),
});

/** What the Upstash server handled, and what redis-server executed (`INFO commandstats`). */
export interface StackStats extends UpstashLocalStats {
  /** Commands as Upstash bills them: every command, those run inside scripts included. */
  readonly billed: number;
  /** Calls per command name. */
  readonly calls: Readonly<Record<string, number>>;
}

/** Starts a throwaway redis-server and the local Upstash REST server (both on 127.0.0.1). */
export async function startRedisStack(): Promise<RedisStack> {
  const redis: RedisServer = await startRedisServer();
  const token = randomBytes(18).toString('base64url');
  const child = fork(join(import.meta.dirname, 'upstash-child.ts'), [], {
    env: { ...process.env, BENCH_REDIS_PORT: String(redis.port), BENCH_UPSTASH_TOKEN: token },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiting = new Map<number, (stats: StackStats) => void>();
  let nextId = 1;
  let url: string;
  try {
    url = await new Promise<string>((resolveUrl, reject) => {
      const timer = setTimeout(
        () => reject(new Error('Upstash child did not start in 15 s')),
        15_000,
      );
      child.once('exit', (code) => reject(new Error(`Upstash child exited with ${code}`)));
      child.on('message', (raw: unknown) => {
        const ready = z.object({ ready: z.string() }).safeParse(raw);
        if (ready.success) {
          clearTimeout(timer);
          resolveUrl(ready.data.ready);
          return;
        }
        const reply = replySchema.safeParse(raw);
        if (!reply.success) return;
        waiting.get(reply.data.id)?.(reply.data.stats);
        waiting.delete(reply.data.id);
      });
    });
  } catch (error) {
    child.kill();
    await redis.stop();
    throw error;
  }
  const ask = (message: DistributiveOmit<ControlMessage, 'id'>) =>
    new Promise<StackStats>((resolveStats, reject) => {
      const id = nextId++;
      waiting.set(id, resolveStats);
      child.send({ ...message, id }, (error) => {
        if (error) reject(error);
      });
    });
  return {
    url,
    token,
    setDelay: async (ms) => {
      await ask({ op: 'setDelay', ms });
    },
    stats: () => ask({ op: 'stats' }),
    resetStats: async () => {
      await ask({ op: 'resetStats' });
    },
    stop: async () => {
      const exited = new Promise((done) => child.once('exit', done));
      child.disconnect();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
      await redis.stop();
    },
  };
}

/** Bundled worker scripts in a temp dir, removed by `cleanup`. */
export interface Bundles {
  readonly edgelimit: string;
  readonly upstashRatelimit: string;
  cleanup(): Promise<void>;
}

/**
 * Bundles src/index.ts (through `entry`, the counting entry by default) and the
 * @upstash/ratelimit worker into one ESM module each.
 */
export async function bundleWorkers(entry = 'scripts/bench/counting-entry.ts'): Promise<Bundles> {
  const dir = await mkdtemp(join(tmpdir(), 'edgelimit-bench-'));
  const one = async (entry: string, name: string) => {
    const outfile = join(dir, `${name}.mjs`);
    await build({
      entryPoints: [join(ROOT, entry)],
      outfile,
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      target: 'es2024',
      conditions: ['workerd', 'worker', 'browser'],
      mainFields: ['module', 'main'],
      external: ['cloudflare:*', 'node:*'],
      logLevel: 'warning',
    });
    return outfile;
  };
  const [edgelimit, upstashRatelimit] = await Promise.all([
    // The worker as deployed, plus counters of the limiter object's billed units.
    one(entry, 'edgelimit'),
    one('scripts/bench/upstash-ratelimit-worker.ts', 'upstash-ratelimit'),
  ]);
  return { edgelimit, upstashRatelimit, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Binding kinds copied from wrangler.toml, so bindings other engineers add are picked up. */
const WRANGLER_KEYS = [
  'compatibilityDate',
  'compatibilityFlags',
  'bindings',
  'kvNamespaces',
  'durableObjects',
  'analyticsEngineDatasets',
  'r2Buckets',
  'd1Databases',
  'queueProducers',
  'ratelimits',
] as const;

/** The worker options wrangler.toml describes, limited to the kinds listed above. */
function wranglerOptions(): Record<string, unknown> {
  const { workerOptions } = unstable_getMiniflareWorkerOptions(join(ROOT, 'wrangler.toml'));
  const all = workerOptions as Record<string, unknown>;
  const picked: Record<string, unknown> = {};
  for (const key of WRANGLER_KEYS) {
    const value = all[key];
    const empty =
      value === undefined ||
      (typeof value === 'object' && value !== null && Object.keys(value).length === 0);
    if (!empty) picked[key] = value;
  }
  return picked;
}

/** Starts a worker from a bundled module; `fromWrangler` adds wrangler.toml's bindings first. */
async function startWorker(opts: {
  name: string;
  scriptPath: string;
  bindings: Record<string, string>;
  fromWrangler: boolean;
  /** Opens workerd's inspector on 127.0.0.1 at this port (CPU profiles: scripts/bench/profile.ts). */
  inspectorPort?: number;
}): Promise<BenchWorker> {
  const base = opts.fromWrangler
    ? wranglerOptions()
    : { compatibilityDate: '2026-10-01', compatibilityFlags: ['nodejs_compat'] };
  // wrangler.toml vars; the benchmark's own bindings below override them.
  const vars = Object.fromEntries(
    Object.entries(z.record(z.string(), z.unknown()).catch({}).parse(base.bindings)).filter(
      (entry): entry is [string, string] => typeof entry[1] === 'string',
    ),
  );
  const options = {
    ...base,
    name: opts.name,
    modules: true,
    scriptPath: opts.scriptPath,
    // Module names are paths relative to this root; a bundle outside the cwd needs its own.
    modulesRoot: dirname(opts.scriptPath),
    bindings: { ...vars, ...opts.bindings },
    log: process.env.BENCH_LOG ? new Log(LogLevel.DEBUG) : new NoOpLog(),
    // The worker logs every rejection as JSON; the table is the output here.
    handleStructuredLogs: process.env.BENCH_LOG ? undefined : () => {},
    ...(opts.inspectorPort !== undefined
      ? { inspectorPort: opts.inspectorPort, inspectorHost: '127.0.0.1' }
      : {}),
  } as V4MiniflareOptions;
  // Workers start one after another, so the workerd processes new after `ready` are this one's.
  const before = new Set(await workerdPids());
  const mf = new Miniflare(convertV4MiniflareOptions(options));
  await mf.ready;
  const pids = (await workerdPids()).filter((pid) => !before.has(pid));
  return {
    name: opts.name,
    ...(pids.length > 0
      ? {
          cpuMs: async () =>
            (await Promise.all(pids.map((pid) => cpuMs(pid)))).reduce((a, b) => a + b, 0),
        }
      : {}),
    async fetch(path, init = {}) {
      const response = await mf.dispatchFetch(`${BASE_URL}${path}`, init);
      await response.arrayBuffer();
      return { status: response.status, headers: response.headers as unknown as Headers };
    },
    async fetchJson(path, init = {}) {
      const response = await mf.dispatchFetch(`${BASE_URL}${path}`, init);
      const text = await response.text();
      try {
        return { status: response.status, body: JSON.parse(text) as unknown };
      } catch {
        return { status: response.status, body: undefined };
      }
    },
    dispose: () => mf.dispose(),
  };
}

/** An edgelimit worker in one store mode, or why that mode is not available. */
export type EdgelimitWorker =
  | { readonly available: true; readonly mode: StoreMode; readonly worker: BenchWorker }
  | { readonly available: false; readonly mode: StoreMode; readonly reason: string };

/**
 * Starts the edgelimit worker with `LIMITER_STORE=mode`; a mode the worker answers with a
 * configuration error (not built yet) comes back as unavailable, with the worker's own words.
 */
export async function startEdgelimit(
  mode: StoreMode,
  scriptPath: string,
  stack: RedisStack,
  extra: Record<string, string> = {},
  inspectorPort?: number,
): Promise<EdgelimitWorker> {
  const worker = await startWorker({
    ...(inspectorPort !== undefined ? { inspectorPort } : {}),
    name: `edgelimit-${mode}`,
    scriptPath,
    fromWrangler: true,
    bindings: {
      LIMITER_STORE: mode,
      ORIGIN_URL: 'demo',
      SEED_DEMO: 'true',
      ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
      SERVICE_TOKENS: `bench=${BENCH_SERVICE_TOKEN}`,
      UPSTASH_REDIS_REST_URL: stack.url,
      UPSTASH_REDIS_REST_TOKEN: stack.token,
      ...extra,
    },
  });
  const health = await worker.fetch('/_edgelimit/health');
  if (health.status !== 200) {
    const probe = await worker.fetch('/v1/probe', {
      headers: { 'X-API-Key': 'demo-pro-key', 'CF-Connecting-IP': '10.255.0.1' },
    });
    await worker.dispose();
    return { available: false, mode, reason: `health ${health.status}, request ${probe.status}` };
  }
  return { available: true, mode, worker };
}

/** Starts the @upstash/ratelimit comparison worker. */
export function startUpstashRatelimit(scriptPath: string, stack: RedisStack): Promise<BenchWorker> {
  return startWorker({
    name: 'upstash-ratelimit',
    scriptPath,
    fromWrangler: false,
    bindings: {
      UPSTASH_REDIS_REST_URL: stack.url,
      UPSTASH_REDIS_REST_TOKEN: stack.token,
      SERVICE_TOKEN: BENCH_SERVICE_TOKEN,
    },
  });
}

/**
 * Writes a customer record through the admin API and issues it an API key; returns the key, or
 * `undefined` when the worker refuses the record (a field it does not know yet).
 */
export async function createCustomer(
  worker: BenchWorker,
  customerId: string,
  record: Record<string, unknown>,
): Promise<string | undefined> {
  const auth = { Authorization: `Bearer ${BENCH_ADMIN_TOKEN}`, 'Content-Type': 'application/json' };
  const put = await worker.fetch(`/_edgelimit/admin/customers/${customerId}`, {
    method: 'PUT',
    headers: auth,
    body: JSON.stringify(record),
  });
  if (put.status !== 200) return undefined;
  const issued = await worker.fetchJson('/_edgelimit/admin/keys', {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ customerId }),
  });
  const parsed = z.object({ key: z.string() }).safeParse(issued.body);
  return parsed.success ? parsed.data.key : undefined;
}

/** Versions for the report header. */
export function versions(): { node: string; workerd: string; miniflare: string } {
  const version = (pkg: string) => {
    try {
      const text = readFileSync(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8');
      return z.object({ version: z.string() }).parse(JSON.parse(text)).version;
    } catch {
      return 'unknown';
    }
  };
  return { node: process.version, workerd: version('workerd'), miniflare: version('miniflare') };
}

/** Billed units of the limiter Durable Objects of one edgelimit worker (counting-entry.ts). */
export interface DoStats {
  readonly requests: number;
  readonly alarms: number;
  readonly rowsWritten: number;
  readonly rowsRead: number;
}

const doStatsSchema = z.object({
  requests: z.number(),
  alarms: z.number(),
  rowsWritten: z.number(),
  rowsRead: z.number(),
});

/** Reads (and with `reset`, zeroes) the Durable Object counters of an edgelimit worker. */
export async function readDoStats(worker: BenchWorker, reset = false): Promise<DoStats> {
  const { status, body } = await worker.fetchJson(`/__bench/do-stats${reset ? '?reset=1' : ''}`);
  const parsed = doStatsSchema.safeParse(body);
  if (status !== 200 || !parsed.success) throw new Error(`no Durable Object counters (${status})`);
  return parsed.data;
}
