/** The bench's targets: every edgelimit store mode and @upstash/ratelimit, with their bench customers. */
import type { RealtimeTarget, TraceName } from './accuracy';
import { TRACE_NAMES } from './accuracy';
import {
  BENCH_SERVICE_TOKEN,
  type BenchWorker,
  createCustomer,
  type EdgelimitWorker,
} from './harness';
import type { RequestSpec } from './latency';
import { HUGE_LIMIT, REALTIME } from './profiles';

/** The bench's concurrency limit: far above the requests it keeps in flight, so none is refused. */
const CONCURRENCY_LIMIT = 10_000;

/** Something the benchmark sends requests to: one limiter configuration in one worker. */
export interface Target {
  readonly id: string;
  readonly label: string;
  readonly worker: BenchWorker;
  readonly family: 'edgelimit' | 'upstash';
  /** Touches Redis on the request path, so the simulated RTT matters. */
  readonly networked: boolean;
  /**
   * Saves in batches (Durable Object modes: storage rows and, hybrid, the Redis SET come from the
   * object's alarm): wait `settleMs` before reading the counters.
   */
  readonly writeBehind: boolean;
  /** Measure the blocked (429) case at 10 ms RTT, where an in-isolate L1 saves the round trip. */
  readonly blockedCell: boolean;
  readonly allowed: RequestSpec;
  readonly blocked: RequestSpec;
  readonly bypassed: RequestSpec;
}

/** A target that could not be built, with the reason printed as n/a. */
export interface Missing {
  readonly label: string;
  readonly reason: string;
}

/** The path every bench request asks for. */
export const PATH = '/v1/items';
export const IP = { 'CF-Connecting-IP': '10.1.0.1' };

/** The limited and blocked customers of every started edgelimit worker. */
export async function edgelimitTargets(
  started: EdgelimitWorker[],
): Promise<{ targets: Target[]; missing: Missing[] }> {
  const targets: Target[] = [];
  const missing: Missing[] = [];
  const bypassed = { path: PATH, headers: { ...IP, 'X-Service-Token': BENCH_SERVICE_TOKEN } };
  for (const e of started) {
    if (!e.available) {
      missing.push({ label: `edgelimit ${e.mode}`, reason: e.reason });
      continue;
    }
    const limits = (limit: number) => [{ limit, window: '1m' }];
    // The store-mode rows measure exact decisions (a round trip per request); the deployed
    // default, `fast`, has its own row under hybrid below.
    const allowedKey = await createCustomer(e.worker, `bench-${e.mode}`, {
      tier: 'enterprise',
      limits: limits(HUGE_LIMIT),
      consistency: 'exact',
    });
    const blockedKey = await createCustomer(e.worker, `bench-${e.mode}-blocked`, {
      tier: 'enterprise',
      limits: limits(1),
      consistency: 'exact',
    });
    if (!allowedKey || !blockedKey)
      throw new Error(`admin API refused bench customers (${e.mode})`);
    const spec = (key: string) => ({ path: PATH, headers: { ...IP, 'X-API-Key': key } });
    const networked = e.mode === 'redis' || e.mode === 'hybrid';
    const base = { worker: e.worker, family: 'edgelimit' as const, networked, bypassed };
    targets.push({
      ...base,
      id: e.mode,
      label: `edgelimit ${e.mode}${e.mode === 'memory' || e.mode === 'redis' ? '' : ' exact'}`,
      writeBehind: e.mode === 'hybrid' || e.mode === 'durable-object',
      blockedCell: networked,
      allowed: spec(allowedKey),
      blocked: spec(blockedKey),
    });
    if (e.mode === 'hybrid' || e.mode === 'redis') {
      // A concurrency-limited customer that never reaches its limit: the cell measures what the
      // slot's acquire (with the windows, same call) and its release after the body add.
      const slotsKey = await createCustomer(e.worker, `bench-${e.mode}-concurrency`, {
        tier: 'enterprise',
        limits: limits(HUGE_LIMIT),
        concurrency: CONCURRENCY_LIMIT,
        consistency: 'exact',
      });
      if (!slotsKey) throw new Error(`admin API refused the concurrency customer (${e.mode})`);
      targets.push({
        ...base,
        id: `${e.mode}-concurrency`,
        label: `edgelimit ${e.mode} + concurrency`,
        writeBehind: e.mode === 'hybrid',
        blockedCell: false,
        allowed: spec(slotsKey),
        blocked: spec(blockedKey),
      });
    }
    if (e.mode === 'hybrid') {
      // Per-policy `consistency: "fast"`: a record field the worker refuses until it exists.
      const fastKey = await createCustomer(e.worker, 'bench-fast', {
        tier: 'enterprise',
        limits: limits(HUGE_LIMIT),
        consistency: 'fast',
      });
      const fastBlocked = await createCustomer(e.worker, 'bench-fast-blocked', {
        tier: 'enterprise',
        limits: limits(1),
        consistency: 'fast',
      });
      if (fastKey && fastBlocked) {
        targets.push({
          ...base,
          id: 'hybrid-fast',
          label: 'edgelimit hybrid fast (default)',
          writeBehind: true,
          blockedCell: true,
          allowed: spec(fastKey),
          blocked: spec(fastBlocked),
        });
      } else {
        missing.push({
          label: 'edgelimit consistency "fast"',
          reason: 'the admin API refuses consistency: "fast" in a customer record (not built yet)',
        });
      }
    }
  }
  return { targets, missing };
}

/** Both @upstash/ratelimit variants, keyed per target. */
export function upstashTargets(worker: BenchWorker): Target[] {
  const spec = (variant: string, limit: number, key: string): RequestSpec => ({
    path: PATH,
    headers: {
      ...IP,
      'X-Bench-Limiter': variant,
      'X-Bench-Limit': String(limit),
      'X-Bench-Window': '60 s',
      'X-API-Key': key,
    },
  });
  const bypassed = { path: PATH, headers: { ...IP, 'X-Service-Token': BENCH_SERVICE_TOKEN } };
  return [
    ['sliding-window', 'upstash slidingWindow', 'upstash-sw'],
    ['sliding-window-cache', 'upstash slidingWindow+cache', 'upstash-sw-cache'],
  ].map(([variant = '', label = '', id = '']) => ({
    id,
    label,
    worker,
    family: 'upstash',
    networked: true,
    writeBehind: false,
    // Without its cache a blocked key costs the same round trip as an allowed one.
    blockedCell: id === 'upstash-sw-cache',
    allowed: spec(variant, HUGE_LIMIT, `bench-${id}`),
    blocked: spec(variant, 1, `bench-${id}-blocked`),
    bypassed,
  }));
}

/** Real-time targets: edgelimit (redis, hybrid) and both @upstash/ratelimit variants. */
export async function realtimeTargets(
  edgelimit: readonly Target[],
  upstash: BenchWorker,
  runId: string,
): Promise<RealtimeTarget[]> {
  const out: RealtimeTarget[] = [];
  for (const t of edgelimit) {
    if (t.id !== 'redis' && t.id !== 'hybrid') continue;
    const keys = new Map<TraceName, string>();
    for (const name of TRACE_NAMES) {
      const key = await createCustomer(t.worker, `bench-rt-${runId}-${t.id}-${name}`, {
        tier: 'enterprise',
        limits: [{ limit: REALTIME.limit, window: REALTIME.window }],
      });
      if (!key) throw new Error(`admin API refused the real-time customer (${t.id})`);
      keys.set(name, key);
      // Warm the key and customer caches and the Durable Object, so the trace measures the
      // limiter rather than a cold start; the caller waits a window so this request expires.
      await t.worker.fetch(PATH, { headers: { ...IP, 'X-API-Key': key } });
    }
    out.push({
      name: t.label,
      send: async (trace) => {
        const key = keys.get(trace) ?? 'missing-key';
        const r = await t.worker.fetch(PATH, { headers: { ...IP, 'X-API-Key': key } });
        return { status: r.status, outcome: r.headers.get('x-edgelimit-status') ?? undefined };
      },
    });
  }
  for (const [variant, name] of [
    ['sliding-window', 'upstash slidingWindow'],
    ['sliding-window-cache', 'upstash slidingWindow+cache'],
  ] as const) {
    out.push({
      name,
      send: async (trace) => {
        const r = await upstash.fetch(PATH, {
          headers: {
            ...IP,
            'X-Bench-Limiter': variant,
            'X-Bench-Limit': String(REALTIME.limit),
            'X-Bench-Window': REALTIME.upstashWindow,
            'X-API-Key': `rt-${runId}-${variant}-${trace}`,
          },
        });
        return { status: r.status };
      },
    });
  }
  return out;
}
