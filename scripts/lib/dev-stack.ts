/** Starts the local stack: wrangler dev (worker + demo origin), optional Redis, and the dashboard. */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startUpstashLocal } from '../upstash-local';
import { formatDecision, lineSplitter, parseDecision } from './decision-line';
import { startRedisServer } from './redis-server';

/** Options of {@link startDevStack}. */
export interface DevStackOptions {
  /** Worker port; default 8787. */
  readonly workerPort?: number;
  /** Dashboard port; default 8788; `false` skips the dashboard. */
  readonly dashboardPort?: number | false;
  /**
   * Where wrangler keeps local KV and Durable Object state; default a fresh temp dir, removed on
   * stop. `npm run dev` passes `.wrangler/state`, where `wrangler kv ... --local` also looks.
   */
  readonly persistDir?: string;
  /** `durable-object` (default, no Redis needed), `redis` or `hybrid`. */
  readonly store?: 'durable-object' | 'redis' | 'hybrid';
  /** Extra worker vars. */
  readonly vars?: Readonly<Record<string, string>>;
  /** Where progress lines go; default stdout. */
  readonly log?: (line: string) => void;
  /** Show wrangler's own output. */
  readonly verbose?: boolean;
  /**
   * Receives one compact line per proxied request (method, path, caller, outcome, what is left);
   * turns the worker's `LOG_DECISIONS` on. Ignored with `verbose` (wrangler prints everything).
   */
  readonly requestLog?: (line: string) => void;
}

/** A running stack. */
export interface DevStack {
  readonly workerUrl: string;
  readonly dashboardUrl?: string;
  /** The Upstash REST URL in use when the store needs Redis. */
  readonly upstashUrl?: string;
  stop(): Promise<void>;
}

/** Demo secrets for local runs only; the README lists them. */
export const DEMO_VARS = {
  ADMIN_TOKEN: 'demo-admin-token',
  SERVICE_TOKENS: 'demo=demo-service-token',
  SEED_DEMO: 'true',
  ORIGIN_URL: 'demo',
} as const;

const ROOT = resolve(import.meta.dirname, '../..');
/** Environment that keeps wrangler offline and quiet (no login, no telemetry). */
export const QUIET_ENV = {
  WRANGLER_SEND_METRICS: 'false',
  WRANGLER_SEND_ERROR_REPORTS: 'false',
  WRANGLER_HIDE_BANNER: 'true',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
};

/**
 * Starts everything `npm run dev` shows. Stops whatever it started if any part fails.
 * @example
 * const stack = await startDevStack({ workerPort: 0 === 0 ? 8787 : 8787 });
 * await fetch(`${stack.workerUrl}/v1/hello`, { headers: { 'X-API-Key': 'demo-free-key' } });
 * await stack.stop();
 */
export async function startDevStack(options: DevStackOptions = {}): Promise<DevStack> {
  const log = options.log ?? ((line: string) => console.log(line));
  const workerPort = options.workerPort ?? 8787;
  const dashboardPort = options.dashboardPort ?? 8788;
  const store = options.store ?? 'durable-object';
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
  };

  try {
    const persist = options.persistDir ?? (await mkdtemp(join(tmpdir(), 'edgelimit-dev-')));
    if (!options.persistDir) stops.push(() => rm(persist, { recursive: true, force: true }));

    const redisVars: Record<string, string> = {};
    let upstashUrl: string | undefined;
    if (store !== 'durable-object') {
      const external = process.env.UPSTASH_REDIS_REST_URL;
      if (external && process.env.UPSTASH_REDIS_REST_TOKEN) {
        redisVars.UPSTASH_REDIS_REST_URL = external;
        redisVars.UPSTASH_REDIS_REST_TOKEN = process.env.UPSTASH_REDIS_REST_TOKEN;
        upstashUrl = external;
        log(`redis: using UPSTASH_REDIS_REST_URL=${external}`);
      } else {
        const redis = await startRedisServer();
        stops.push(() => redis.stop());
        const token = randomBytes(16).toString('hex');
        const upstash = await startUpstashLocal({ redisPort: redis.port, token });
        stops.push(() => upstash.stop());
        redisVars.UPSTASH_REDIS_REST_URL = upstash.url;
        redisVars.UPSTASH_REDIS_REST_TOKEN = token;
        upstashUrl = upstash.url;
        log(`redis: redis-server on ${redis.port}, local Upstash REST server at ${upstash.url}`);
      }
    }

    const dashboardUrl = dashboardPort === false ? undefined : `http://127.0.0.1:${dashboardPort}`;
    const workerUrl = `http://127.0.0.1:${workerPort}`;
    const vars: Record<string, string> = {
      ...DEMO_VARS,
      LIMITER_STORE: store,
      DASHBOARD_ORIGIN: [dashboardUrl, dashboardUrl && `http://localhost:${dashboardPort}`]
        .filter(Boolean)
        .join(','),
      ...redisVars,
      ...(options.requestLog && !options.verbose ? { LOG_DECISIONS: 'true' } : {}),
      ...options.vars,
    };
    const requestLog = options.verbose ? undefined : options.requestLog;
    const worker = await startWrangler(
      workerPort,
      persist,
      vars,
      options.verbose ?? false,
      (line) => {
        const decision = parseDecision(line);
        if (decision && requestLog) requestLog(formatDecision(decision));
      },
    );
    stops.push(() => stopProcess(worker));
    await waitForHealth(`${workerUrl}${vars.RESERVED_PREFIX ?? '/_edgelimit'}/health`, worker);
    log(`worker: ${workerUrl} (LIMITER_STORE=${store})`);

    if (dashboardPort !== false) {
      const dashboard = await import('./dashboard-server').catch(() => undefined);
      if (dashboard) {
        await dashboard.buildDashboard();
        const server = await dashboard.startDashboardServer({
          port: dashboardPort,
          apiBase: workerUrl,
        });
        stops.push(() => server.stop());
        log(`dashboard: ${server.url}`);
      } else {
        log('dashboard: not built in this checkout (scripts/lib/dashboard-server.ts missing)');
      }
    }

    return {
      workerUrl,
      ...(dashboardUrl ? { dashboardUrl } : {}),
      ...(upstashUrl ? { upstashUrl } : {}),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

function startWrangler(
  port: number,
  persist: string,
  vars: Record<string, string>,
  verbose: boolean,
  onLine: (line: string) => void,
): Promise<ChildProcess> {
  const args = ['dev', '--port', String(port), '--ip', '127.0.0.1', '--persist-to', persist];
  // --test-scheduled exposes /__scheduled so the cron anomaly checks can be run locally.
  args.push('--inspector-port', '0', '--test-scheduled');
  for (const [name, value] of Object.entries(vars)) args.push('--var', `${name}:${value}`);
  const child = spawn(join(ROOT, 'node_modules/.bin/wrangler'), args, {
    cwd: ROOT,
    env: {
      ...process.env,
      ...QUIET_ENV,
      PATH: `${join(ROOT, 'node_modules/.bin')}:${process.env.PATH ?? ''}`,
    },
    stdio: ['ignore', verbose ? 'inherit' : 'pipe', verbose ? 'inherit' : 'pipe'],
    detached: true,
  });
  endsWithThisProcess(child);
  let output = '';
  const lines = lineSplitter(onLine);
  child.stdout?.on('data', (d: Buffer) => {
    output = (output + d.toString()).slice(-4000);
    lines(d.toString());
  });
  child.stderr?.on('data', (d: Buffer) => {
    output = (output + d.toString()).slice(-4000);
  });
  (child as ChildProcess & { recentOutput?: () => string }).recentOutput = () => output;
  return Promise.resolve(child);
}

async function waitForHealth(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`wrangler dev exited with ${child.exitCode}:\n${recent(child)}`);
    }
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`wrangler dev did not answer ${url} within 60 s:\n${recent(child)}`);
}

function recent(child: ChildProcess): string {
  return (child as ChildProcess & { recentOutput?: () => string }).recentOutput?.() ?? '';
}

/**
 * Makes a child started with `detached: true` (its own process group, so stopping it stops its
 * workerd children too) never outlive this process, however this process ends.
 */
export function endsWithThisProcess(child: ChildProcess): void {
  const killGroup = () => {
    try {
      if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, 'SIGTERM');
    } catch {
      // Already gone.
    }
  };
  process.once('exit', killGroup);
  child.once('exit', () => process.off('exit', killGroup));
}

/** Stops `stop()`'s stack and exits on Ctrl+C, SIGTERM or a closed terminal (`npm run dev`, `npm run example`). */
export function stopOnSignals(stop: () => Promise<void>): void {
  const shutdown = async () => {
    await stop();
    process.exit(0);
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  process.on('SIGHUP', shutdown);
}

/** Stops wrangler and its workerd children (it runs in its own process group). */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    child.kill('SIGTERM');
  }
  const timeout = setTimeout(() => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }, 5_000);
  await exited;
  clearTimeout(timeout);
}
