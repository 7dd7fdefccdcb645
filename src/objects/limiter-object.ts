/**
 * The Durable Object per rate-limit identity: the hot cache, as a thin shell. Decisions for one
 * identity are serialized in its memory (`store/hot-cache.ts`); every recorded count is written to
 * the object's storage (`store/storage-layout.ts`) before the answer leaves, so an eviction or
 * restart loses nothing that was acknowledged. In hybrid mode it also writes counts behind to
 * Redis in batches (`store/write-behind.ts`) and, on a cold start, reloads a window's counts from
 * Redis (`store/cold-reload.ts`).
 */

import { DurableObject } from 'cloudflare:workers';
import type { Redis } from '@upstash/redis/cloudflare';
import type { Bindings } from '../env';
import { DEFAULT_ALGORITHM } from '../limiter/algorithms/registry';
import type { CheckOutcome, CheckRequest, ReleaseRequest } from '../limiter/contract';
import type { LeaseAsk, LeaseGrant } from '../limiter/lease-protocol';
import { alarmAfterAlarm, alarmAfterCommit, bringsForward } from '../store/alarm-plan';
import { ColdReload } from '../store/cold-reload';
import type { LimiterCallOptions } from '../store/durable-object-store';
import { type Commit, HotCache } from '../store/hot-cache';
import { createRedisClient } from '../store/redis-client';
import { runScript } from '../store/run-script';
import {
  CELL_PREFIX,
  cellEntry,
  cellsFromEntries,
  deleteBatches,
  PENDING_KEY,
} from '../store/storage-layout';
import { type StoredPending, WriteBehind } from '../store/write-behind';
import { usageStub } from '../telemetry/embedded-usage';
import { log } from '../telemetry/log';

const algorithm = DEFAULT_ALGORITHM;

export class LimiterObject extends DurableObject<Env> {
  private cache = new HotCache();
  private writeBehind = new WriteBehind();
  private reloads = new ColdReload(this.cache.windows);
  private alarmAt: number | null = null;
  private redis: Redis | undefined;
  private redisUrl: string | undefined;
  /** Redis commands this object sent (write-behind and reloads), for the benchmark. */
  private commands = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      this.cache = new HotCache(
        cellsFromEntries(await ctx.storage.list<number>({ prefix: CELL_PREFIX })),
      );
      this.reloads = new ColdReload(this.cache.windows);
      this.writeBehind = new WriteBehind(await ctx.storage.get<StoredPending>(PENDING_KEY));
      this.alarmAt = await ctx.storage.getAlarm();
    });
  }

  /** Checks and records every window of one request, all or nothing. */
  async check(request: CheckRequest, options: LimiterCallOptions = {}): Promise<CheckOutcome> {
    const writeBehind = await this.open(request, options);
    const now = request.now ?? Date.now();
    const { result, commit } = this.cache.check(request, now);
    if (commit) this.persist(commit, now, writeBehind);
    return result;
  }

  /**
   * Grants a lease of up to `ask.units` units for the `fast` consistency mode, first taking back
   * what the previous lease left unused. The algorithm records granted units so that the window
   * never holds more than the limit, whatever the isolates do with their leases.
   */
  async lease(
    request: CheckRequest,
    ask: LeaseAsk,
    options: LimiterCallOptions = {},
  ): Promise<LeaseGrant> {
    const writeBehind = await this.open(request, options);
    const now = request.now ?? Date.now();
    const { result, commit } = this.cache.lease(request, now, ask);
    if (commit) this.persist(commit, now, writeBehind);
    return result;
  }

  /** Gives back the slots of a finished request (concurrency limits); unknown tokens are no-ops. */
  async release(request: ReleaseRequest): Promise<void> {
    const now = request.now ?? Date.now();
    const { commit } = this.cache.release(request, now);
    if (commit) this.persist(commit, now, false);
  }

  /** Number of Redis commands sent by this object so far (benchmarks and tests). */
  redisCommands(): number {
    return this.commands;
  }

  /** Flushes write-behind deltas, then drops windows whose counts have all expired. */
  override async alarm(): Promise<void> {
    this.alarmAt = null;
    this.redisFromEnvironment();
    await this.flush();
    const now = Date.now();
    for (const batch of deleteBatches(this.cache.sweep(now))) await this.ctx.storage.delete(batch);
    const next = alarmAfterAlarm(now, this.writeBehind.units(), this.cache.windows.size);
    if (next !== null && bringsForward(this.alarmAt, next)) {
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
    if (!redis) return;
    await this.writeBehind.flush(
      {
        call: (pending) => algorithm.mergeCall(pending),
        send: (keys, args) =>
          runScript(redis, algorithm.merge, keys, args, () => {
            this.commands++;
          }),
      },
      (stored) => this.ctx.storage.put(PENDING_KEY, stored),
      // Counted fleet-wide so metrics and alerts show it; a failure to count is only logged.
      (error) =>
        usageStub(this.env.USAGE)
          .reportWriteBehindFailure(Date.now(), String(error))
          .catch((e: unknown) =>
            log('internal-error', { where: 'write-behind-report', message: String(e) }, 'error'),
          ),
    );
  }

  /** In hybrid mode, connects to Redis and reloads the request's cold windows from it. */
  private async open(request: CheckRequest, options: LimiterCallOptions): Promise<boolean> {
    if (options.writeBehind) this.useRedis(options.writeBehind.url, options.writeBehind.token);
    const redis = this.redis;
    if (options.writeBehind === undefined || redis === undefined) return false;
    await this.reloads.reload(
      this.cache.sharedKeysOf(request),
      {
        load: (key) => redis.hgetall<Record<string, string | number>>(key),
        flushes: () => this.writeBehind.flushes,
        onCommand: () => {
          this.commands++;
        },
        onLoaded: (key, cells) => {
          const writes: Record<string, number> = {};
          for (const [cell, n] of cells) writes[cellEntry(key, cell)] = n;
          void this.ctx.storage.put(writes);
        },
      },
      options.reloadBudgetMs,
    );
    return true;
  }

  /**
   * Writes a commit to storage, queues its write-behind deltas, then makes sure an alarm is set.
   * Not awaited: the output gate holds the reply until the writes are durable, while the next
   * request is already decided from memory.
   */
  private persist(commit: Commit, now: number, writeBehind: boolean): void {
    const writes: Record<string, number | StoredPending> = { ...commit.writes };
    let units = 0;
    if (writeBehind) {
      for (const d of commit.deltas)
        units = this.writeBehind.add(d.key, d.windowMs, d.cell, d.delta);
      writes[PENDING_KEY] = this.writeBehind.stored();
    }
    void this.ctx.storage.put(writes);
    for (const batch of deleteBatches(commit.deletes)) void this.ctx.storage.delete(batch);
    const wanted = alarmAfterCommit(now, writeBehind, units, commit.longestWindowMs);
    if (bringsForward(this.alarmAt, wanted)) {
      this.alarmAt = wanted;
      void this.ctx.storage.setAlarm(wanted);
    }
  }

  /**
   * A restarted object learns which Redis to write behind to from the worker's next request; an
   * alarm that comes first would re-arm forever without flushing. It uses the Upstash settings of
   * the environment it shares with the worker instead, so what the last instance owed Redis
   * reaches it without waiting for traffic.
   */
  private redisFromEnvironment(): void {
    if (this.redis || this.writeBehind.units() === 0) return;
    const { UPSTASH_REDIS_REST_URL: url, UPSTASH_REDIS_REST_TOKEN: token } = this.env as Bindings;
    if (url && token) this.useRedis(url, token);
  }

  private useRedis(url: string, token: string): void {
    if (this.redisUrl === url && this.redis) return;
    this.redis = createRedisClient(url, token);
    this.redisUrl = url;
  }
}
