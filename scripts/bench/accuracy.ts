/**
 * Accuracy against the exact sliding log (scripts/lib/exact-log.ts) on uniform, bursty and boundary-attack
 * traces: stores driven directly with pinned time, and whole workers driven in scaled real time.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { CounterStore } from '../../src/limiter/contract';
import { createMemoryStore } from '../../src/store/memory-store';
import { createRedisClient } from '../../src/store/redis-client';
import { createRedisStore } from '../../src/store/redis-store';
import { boundaryAttackTrace, burstyTrace, seededRng, uniformTrace } from '../lib/traces';
import { type AccuracyScore, provableOvershoot, scoreDecisions } from './stats';

/** The traces every limiter is scored on. */
export const TRACE_NAMES = ['uniform', 'bursty', 'boundary'] as const;
export type TraceName = (typeof TRACE_NAMES)[number];

/** Shape of one trace family for a limit and window. */
export interface TraceShape {
  readonly limit: number;
  readonly windowMs: number;
  /** Windows the uniform and bursty traces span; boundary periods are derived from it. */
  readonly windows: number;
  /** First timestamp (epoch ms). */
  readonly start: number;
  readonly seed: number;
  /** Width of the boundary-attack bursts; default windowMs / 100. */
  readonly edgeMs?: number;
}

/**
 * Builds the three traces: uniform at 1.2x the limit, bursts of `limit` packed into 1/20 of a
 * window over a background of half the limit, and the boundary attack (`limit` just before and
 * `limit` just after each fixed-window boundary).
 */
export function makeTraces(s: TraceShape): Record<TraceName, number[]> {
  const durationMs = s.windows * s.windowMs;
  return {
    uniform: uniformTrace({
      rng: seededRng(s.seed),
      start: s.start,
      count: Math.round(1.2 * s.limit * s.windows),
      durationMs,
    }),
    bursty: burstyTrace({
      rng: seededRng(s.seed + 1),
      start: s.start,
      durationMs,
      bursts: s.windows,
      burstSize: s.limit,
      burstSpanMs: Math.ceil(s.windowMs / 20),
      background: Math.round(0.5 * s.limit * s.windows),
    }),
    boundary: boundaryAttackTrace({
      rng: seededRng(s.seed + 2),
      start: s.start,
      limit: s.limit,
      windowMs: s.windowMs,
      periods: Math.max(1, Math.floor(s.windows / 2)),
      ...(s.edgeMs !== undefined ? { edgeMs: s.edgeMs } : {}),
    }),
  };
}

/** A limiter decided with pinned time: one fresh identity per trace. */
export interface PinnedLimiter {
  readonly name: string;
  /** Returns a decision function for a new identity. */
  open(identity: string): (t: number) => Promise<boolean>;
}

/** A counter store as a pinned limiter of one window. */
export function storeLimiter(
  name: string,
  store: CounterStore,
  limit: number,
  windowMs: number,
): PinnedLimiter {
  const windows = [{ id: 'bench', limit, windowMs }];
  return {
    name,
    open: (identity) => async (t) => (await store.check({ identity, windows, now: t })).allowed,
  };
}

/** The pinned-time limiters that exist today: the TypeScript window and the Redis Lua script. */
export function pinnedLimiters(
  redis: { url: string; token: string },
  limit: number,
  windowMs: number,
): PinnedLimiter[] {
  return [
    storeLimiter('memory / durable-object (TS)', createMemoryStore(), limit, windowMs),
    storeLimiter(
      'redis (Lua)',
      createRedisStore({ redis: createRedisClient(redis.url, redis.token) }),
      limit,
      windowMs,
    ),
  ];
}

/** Scores of one limiter on every trace. */
export interface AccuracyRow {
  readonly limiter: string;
  readonly clock: 'pinned' | 'real';
  readonly limit: number;
  readonly windowMs: number;
  readonly traces: Record<TraceName, AccuracyScore>;
  /**
   * Real-time runs: answers other than a plain allow or reject, by status or outcome (e.g.
   * `failed-open` when the store missed its time budget; `0` = no answer).
   */
  readonly notes: Readonly<Partial<Record<TraceName, Record<string, number>>>>;
}

/** Runs every trace through every pinned limiter, one request at a time in time order. */
export async function pinnedAccuracy(
  limiters: readonly PinnedLimiter[],
  shape: TraceShape,
  runId: string,
): Promise<AccuracyRow[]> {
  const traces = makeTraces(shape);
  const rows: AccuracyRow[] = [];
  for (const limiter of limiters) {
    const scores: Partial<Record<TraceName, AccuracyScore>> = {};
    for (const name of TRACE_NAMES) {
      const trace = traces[name];
      const decide = limiter.open(`bench-acc-${runId}-${name}`);
      const allowed: boolean[] = [];
      for (const t of trace) allowed.push(await decide(t));
      scores[name] = scoreDecisions(trace, allowed, shape.limit, shape.windowMs);
    }
    rows.push({
      limiter: limiter.name,
      clock: 'pinned',
      limit: shape.limit,
      windowMs: shape.windowMs,
      traces: scores as Record<TraceName, AccuracyScore>,
      notes: {},
    });
  }
  return rows;
}

/** A whole worker behind a real clock: sends one request of a trace, answers its status. */
export interface RealtimeTarget {
  readonly name: string;
  /** Each trace must use its own identity, fresh for this run. */
  send(trace: TraceName): Promise<RealtimeAnswer>;
}

/** What a worker answered: the status, and edgelimit's `X-Edgelimit-Status` outcome if sent. */
export interface RealtimeAnswer {
  readonly status: number;
  readonly outcome?: string;
}

/**
 * Replays the traces in real time against every target at once (same schedule, distinct
 * identities), each trace starting on a window boundary so the boundary attack lines up with
 * fixed-window limiters. Times are taken when each request is sent and answered; overshoot is
 * scored both on send times and provably (whatever the decision instant within the round trip).
 * Bounded by the traces.
 */
export async function realtimeAccuracy(
  targets: readonly RealtimeTarget[],
  shape: Omit<TraceShape, 'start'>,
): Promise<AccuracyRow[]> {
  const results = new Map<
    string,
    {
      scores: Partial<Record<TraceName, AccuracyScore>>;
      notes: Partial<Record<TraceName, Record<string, number>>>;
    }
  >();
  for (const target of targets) results.set(target.name, { scores: {}, notes: {} });
  for (const name of TRACE_NAMES) {
    // Start on the next window boundary at least 300 ms ahead, leaving time to schedule.
    const start = Math.ceil((Date.now() + 300) / shape.windowMs) * shape.windowMs;
    const trace = makeTraces({ ...shape, start })[name];
    const sent = targets.map(() => [] as { t: number; r: number; answer: RealtimeAnswer }[]);
    const inflight: Promise<void>[] = [];
    for (const at of trace) {
      const wait = at - Date.now();
      if (wait > 0) await sleep(wait);
      const t = Date.now();
      targets.forEach((target, i) => {
        inflight.push(
          target
            .send(name)
            .catch((): RealtimeAnswer => ({ status: 0 }))
            .then((answer) => {
              sent[i]?.push({ t, r: Date.now(), answer });
            }),
        );
      });
    }
    await Promise.all(inflight);
    targets.forEach((target, i) => {
      const got = (sent[i] ?? []).sort((a, b) => a.t - b.t);
      const entry = results.get(target.name);
      if (!entry) return;
      for (const { answer } of got) {
        const plain =
          (answer.status === 200 || answer.status === 429) &&
          (answer.outcome === undefined ||
            answer.outcome === 'allowed' ||
            answer.outcome === 'rejected');
        const note = answer.outcome && answer.status !== 0 ? answer.outcome : String(answer.status);
        if (!plain) {
          const notes = entry.notes[name] ?? {};
          notes[note] = (notes[note] ?? 0) + 1;
          entry.notes[name] = notes;
        }
      }
      const allowedFlags = got.map((g) => g.answer.status === 200);
      entry.scores[name] = {
        ...scoreDecisions(
          got.map((g) => g.t),
          allowedFlags,
          shape.limit,
          shape.windowMs,
        ),
        provableOvershoot: provableOvershoot(
          got.map((g) => g.t),
          got.map((g) => g.r),
          allowedFlags,
          shape.limit,
          shape.windowMs,
        ),
      };
    });
  }
  return targets.map((target) => ({
    limiter: target.name,
    clock: 'real',
    limit: shape.limit,
    windowMs: shape.windowMs,
    traces: (results.get(target.name)?.scores ?? {}) as Record<TraceName, AccuracyScore>,
    notes: results.get(target.name)?.notes ?? {},
  }));
}
