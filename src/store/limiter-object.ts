/**
 * The Durable Object per rate-limit identity: the hot cache. Decisions for one identity are
 * serialized in its memory; every recorded count is written to the object's storage before the
 * answer leaves, so an eviction or restart loses nothing that was acknowledged. In hybrid mode it
 * also writes counts behind to Redis in batches and, on a cold start with no storage, reloads a
 * window's counts from Redis.
 */

import { DurableObject } from 'cloudflare:workers';
import type { Redis } from '@upstash/redis/cloudflare';
import { parseWindowKey, windowKey } from '../limiter/keys';
import { grantLease, type LeaseAsk, type LeaseGrant } from '../limiter/lease';
import {
  type Buckets,
  type CheckOutcome,
  checkAll,
  currentBucket,
  oldestBucket,
} from '../limiter/sliding-window';
import { usageStub } from '../telemetry/embedded-usage';
import { log } from '../telemetry/log';
import type { CheckRequest } from './counter-store';
import { createRedisClient } from './redis-client';
import { runScript } from './run-script';
import {
  addDelta,
  FLUSH_INTERVAL_MS,
  FLUSH_UNITS,
  fromStored,
  MERGE_SCRIPT,
  MERGE_SHA1,
  mergeArguments,
  type Pending,
  pendingUnits,
  type StoredPending,
  toStored,
} from './write-behind';

/** Storage holds one small entry per non-empty bucket, so a request writes only what it changed. */
const bucketName = (key: string, bucket: number) => `${key}|${bucket}`;

/** Options a caller passes with each check. */
export interface LimiterCallOptions {
  /**
   * Hybrid mode: write counts behind to this Redis and reload cold windows from it. The worker
   * passes its own settings so the object always agrees with the worker on which Redis is used.
   */
  readonly writeBehind?: { readonly url: string; readonly token: string };
  /**
   * Longest a request waits for a cold window's reload from Redis before the object decides from
   * its own state (the load goes on and is merged when it lands). The worker passes a share of
   * its own store budget, so a slow Redis can never turn a cold identity's answer into a timeout.
   */
  readonly reloadBudgetMs?: number;
}

const PENDING_KEY = 'wb:pending';
/** How long a request waits for a cold reload from Redis, unless told: not at all. */
const RELOAD_BUDGET_MS = 0;
const MERGE = { script: MERGE_SCRIPT, sha1: MERGE_SHA1 };

export class LimiterObject extends DurableObject<Env> {
  private readonly counters = new Map<string, Buckets>();
  private pending: Pending = new Map();
  private alarmAt: number | null = null;
  private redis: Redis | undefined;
  private flushing: Promise<void> | undefined;
  /** Cold windows being loaded from Redis, so concurrent requests share one load. */
  private readonly reloads = new Map<string, Promise<void>>();
  /** Storage entries of buckets that expired in memory and still wait to be deleted. */
  private expired: string[] = [];
  /** Redis commands this object sent (write-behind and reloads), for the benchmark. */
  private commands = 0;
  /** Write-behind batches sent so far: tells a reload whether Redis may hold our own counts. */
  private flushes = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      const stored = await ctx.storage.list<number>({ prefix: 'el:' });
      for (const [name, count] of stored) {
        const cut = name.lastIndexOf('|');
        const bucket = Number(name.slice(cut + 1));
        // Entries in any other shape (an older layout) are ignored rather than misread.
        if (cut < 0 || !Number.isSafeInteger(bucket) || typeof count !== 'number') continue;
        const key = name.slice(0, cut);
        let buckets = this.counters.get(key);
        if (!buckets) {
          buckets = new Map();
          this.counters.set(key, buckets);
        }
        buckets.set(bucket, count);
      }
      this.pending = fromStored(await ctx.storage.get<StoredPending>(PENDING_KEY));
      this.alarmAt = await ctx.storage.getAlarm();
    });
  }

  /** Checks and records every window of one request, all or nothing. */
  async check(request: CheckRequest, options: LimiterCallOptions = {}): Promise<CheckOutcome> {
    const { keys, byId, writeBehind } = await this.open(request, options);
    const now = request.now ?? Date.now();
    const cost = request.cost ?? 1;
    const outcome = checkAll(request.windows, byId, now, cost, request.consume ?? true);
    if (!outcome.allowed || request.consume === false || cost <= 0) return outcome;
    this.commit(request, keys, byId, now, [now], writeBehind ? [{ at: now, units: cost }] : []);
    return outcome;
  }

  /**
   * Grants a lease of up to `ask.units` units for the `fast` consistency mode, first taking back
   * what the previous lease left unused. Granted units are recorded at `now + ttlMs`, the last
   * instant the isolate may use them, so every unit is counted at or after its real use: the
   * window can never hold more than the limit, whatever the isolates do with their leases.
   * An isolate never takes more than a quarter of what is left, so leases shrink near the limit.
   */
  async lease(
    request: CheckRequest,
    ask: LeaseAsk,
    options: LimiterCallOptions = {},
  ): Promise<LeaseGrant> {
    const { keys, byId, writeBehind } = await this.open(request, options);
    const now = request.now ?? Date.now();
    const { grant, changes } = grantLease(request.windows, byId, now, ask);
    if (changes.length) {
      const touched = changes.map((c) => c.at);
      this.commit(request, keys, byId, now, touched, writeBehind ? changes : []);
    }
    return grant;
  }

  /** Loads (and in hybrid mode, reloads cold) the buckets of every window of a request. */
  private async open(request: CheckRequest, options: LimiterCallOptions) {
    if (options.writeBehind) this.useRedis(options.writeBehind.url, options.writeBehind.token);
    const writeBehind = options.writeBehind !== undefined && this.redis !== undefined;
    const keys = request.windows.map((spec) => windowKey(request.identity, spec));
    if (writeBehind) await this.reloadCold(keys, options.reloadBudgetMs ?? RELOAD_BUDGET_MS);
    const byId = new Map<string, Buckets>();
    request.windows.forEach((spec, i) => {
      const key = keys[i] ?? windowKey(request.identity, spec);
      let buckets = this.counters.get(key);
      if (!buckets) {
        buckets = new Map();
        this.counters.set(key, buckets);
      }
      // Expired buckets leave memory here and storage with the next commit.
      const oldest = oldestBucket(request.now ?? Date.now(), spec.windowMs, spec.limit);
      for (const b of buckets.keys()) {
        if (b < oldest) {
          buckets.delete(b);
          this.expired.push(bucketName(key, b));
        }
      }
      byId.set(spec.id, buckets);
    });
    return { keys, byId, writeBehind };
  }

  /**
   * Persists the buckets at the `touched` instants of every window, drops expired ones, queues
   * write-behind deltas, then makes sure an alarm is set.
   */
  private commit(
    request: CheckRequest,
    keys: string[],
    byId: Map<string, Buckets>,
    now: number,
    touched: readonly number[],
    deltas: readonly { at: number; units: number }[],
  ): void {
    const writes: Record<string, number | StoredPending> = {};
    const deletes = this.expired;
    this.expired = [];
    let units = 0;
    request.windows.forEach((spec, i) => {
      const key = keys[i] ?? windowKey(request.identity, spec);
      const buckets = byId.get(spec.id);
      for (const at of touched) {
        const b = currentBucket(at, spec.windowMs, spec.limit);
        const count = buckets?.get(b) ?? 0;
        if (count > 0) writes[bucketName(key, b)] = count;
        else deletes.push(bucketName(key, b));
      }
      for (const d of deltas) {
        const b = currentBucket(d.at, spec.windowMs, spec.limit);
        units = addDelta(this.pending, key, spec.windowMs, b, d.units);
      }
    });
    if (deltas.length) writes[PENDING_KEY] = toStored(this.pending);
    // Not awaited: the output gate holds this reply until the writes are durable, while the next
    // request is already decided from memory.
    void this.ctx.storage.put(writes);
    for (let i = 0; i < deletes.length; i += 128)
      void this.ctx.storage.delete(deletes.slice(i, i + 128));

    // Redis is only ever called from the alarm, never from a request: a full batch brings the
    // alarm forward to now. (Network calls from request handling would contend with the stream
    // of requests for the object's gates; the alarm is its own event, retried if it fails.)
    const wanted = !deltas.length
      ? now + cleanupDelay(request)
      : units >= FLUSH_UNITS
        ? now
        : now + FLUSH_INTERVAL_MS;
    if (this.alarmAt === null || this.alarmAt > wanted) {
      this.alarmAt = wanted;
      void this.ctx.storage.setAlarm(wanted);
    }
  }

  /** Number of Redis commands sent by this object so far (benchmarks and tests). */
  redisCommands(): number {
    return this.commands;
  }

  /** Flushes write-behind deltas, then drops windows whose counts have all expired. */
  override async alarm(): Promise<void> {
    this.alarmAt = null;
    await this.flush();
    const now = Date.now();
    const dead: string[] = [];
    for (const [key, buckets] of this.counters) {
      const geometry = parseWindowKey(key);
      if (!geometry) continue;
      const oldest = Math.floor((now - geometry.windowMs + 1) / geometry.width);
      for (const b of buckets.keys()) {
        if (b < oldest) {
          buckets.delete(b);
          dead.push(bucketName(key, b));
        }
      }
      if (buckets.size === 0) this.counters.delete(key);
    }
    for (let i = 0; i < dead.length; i += 128)
      await this.ctx.storage.delete(dead.slice(i, i + 128));
    const waiting = pendingUnits(this.pending);
    const next = waiting
      ? now + (waiting >= FLUSH_UNITS ? 0 : FLUSH_INTERVAL_MS)
      : this.counters.size
        ? now + 60_000
        : null;
    if (next !== null && (this.alarmAt === null || this.alarmAt > next)) {
      this.alarmAt = next;
      await this.ctx.storage.setAlarm(next);
    }
  }

  /**
   * Sends what is pending now in one script call (called by the alarm). What arrives meanwhile
   * waits for the next alarm, so a slow Redis never turns into a call per round trip. On failure
   * the batch stays pending and the next alarm retries.
   */
  async flush(): Promise<void> {
    const redis = this.redis;
    if (!redis || !this.pending.size) return;
    if (this.flushing) return this.flushing;
    const sent = this.sendBatch(redis);
    this.flushing = sent.then(() => undefined);
    await sent;
    this.flushing = undefined;
  }

  private async sendBatch(redis: Redis): Promise<boolean> {
    const batch = this.pending;
    this.pending = new Map();
    const { keys, args } = mergeArguments(batch);
    try {
      await runScript(redis, MERGE, keys, args, () => {
        this.commands++;
      });
      this.flushes++;
      await this.ctx.storage.put(PENDING_KEY, toStored(this.pending));
      return true;
    } catch (error) {
      // Put the batch back together with anything added meanwhile; the next alarm retries.
      for (const [key, { windowMs, deltas }] of batch) {
        for (const [bucket, units] of deltas) addDelta(this.pending, key, windowMs, bucket, units);
      }
      await this.ctx.storage.put(PENDING_KEY, toStored(this.pending));
      log('store-error', { store: 'write-behind', message: String(error) }, 'error');
      // Counted fleet-wide so metrics and alerts show it; a failure to count is only logged.
      await usageStub(this.env.USAGE)
        .reportWriteBehindFailure(Date.now(), String(error))
        .catch((e: unknown) =>
          log('internal-error', { where: 'write-behind-report', message: String(e) }, 'error'),
        );
      return false;
    }
  }

  /**
   * On a cold start, windows this object has never seen are loaded from Redis once. A request
   * waits for the load at most `budgetMs`, then the object decides from what it holds: its own
   * storage is the authority (Redis only lags it), so Redis matters only for counts this object
   * never saw, and those are merged in when the load lands.
   */
  private async reloadCold(keys: string[], budgetMs: number): Promise<void> {
    const redis = this.redis;
    if (!redis) return;
    const waits: Promise<void>[] = [];
    for (const key of keys) {
      if (this.counters.has(key)) continue;
      // Requests arriving while a window loads wait for the same load: one HGETALL per window,
      // and nobody decides from a window that is about to be filled in.
      let load = this.reloads.get(key);
      if (!load) {
        load = this.loadFromRedis(redis, key).finally(() => this.reloads.delete(key));
        this.reloads.set(key, load);
      }
      waits.push(load);
    }
    if (!waits.length) return;
    if (budgetMs > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.all(waits),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, budgetMs);
        }),
      ]);
      clearTimeout(timer);
    }
    for (const key of keys) if (!this.counters.has(key)) this.counters.set(key, new Map());
  }

  private async loadFromRedis(redis: Redis, key: string): Promise<void> {
    const flushesBefore = this.flushes;
    try {
      this.commands++;
      const hash = await redis.hgetall<Record<string, string | number>>(key);
      const buckets: Buckets = new Map();
      for (const [bucket, count] of Object.entries(hash ?? {})) {
        const b = Number(bucket);
        const n = Number(count);
        if (Number.isSafeInteger(b) && Number.isSafeInteger(n) && n > 0) buckets.set(b, n);
      }
      // Requests went on deciding from this object's own window while the load was in flight.
      // Their counts are not in Redis yet unless a flush ran meanwhile: add them; after a flush
      // Redis may already hold them, so keep the larger count per bucket instead.
      const flushed = this.flushes !== flushesBefore;
      const existing = this.counters.get(key);
      if (existing) {
        for (const [b, n] of existing) {
          const remote = buckets.get(b) ?? 0;
          buckets.set(b, flushed ? Math.max(n, remote) : n + remote);
        }
      }
      this.counters.set(key, buckets);
      const writes: Record<string, number> = {};
      for (const [b, n] of buckets) writes[bucketName(key, b)] = n;
      void this.ctx.storage.put(writes);
    } catch (error) {
      log('store-error', { store: 'reload', message: String(error) }, 'error');
    }
  }

  private redisUrl: string | undefined;

  private useRedis(url: string, token: string): void {
    if (this.redisUrl === url && this.redis) return;
    this.redis = createRedisClient(url, token);
    this.redisUrl = url;
  }
}

function cleanupDelay(request: CheckRequest): number {
  const longest = Math.max(...request.windows.map((w) => w.windowMs));
  return Math.min(longest + 60_000, 3_600_000);
}
