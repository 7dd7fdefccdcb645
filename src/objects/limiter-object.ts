/**
 * The Durable Object per rate-limit identity, as a thin shell: it hands its storage, its Redis and
 * its clock to `store/limiter-core.ts`, which decides in memory and saves per batch (one snapshot
 * row per identity; in hybrid mode one `SET` of the same snapshot to Redis per batch). What an
 * eviction at an arbitrary instant may lose is stated in `store/save-plan.ts`.
 */

import { DurableObject } from 'cloudflare:workers';
import type { Redis } from '@upstash/redis/cloudflare';
import type { Bindings } from '../env';
import type { CheckOutcome, CheckRequest, ReleaseRequest } from '../limiter/contract';
import type { LeaseAsk, LeaseGrant } from '../limiter/lease-protocol';
import type { LimiterCallOptions } from '../store/durable-object-store';
import { LimiterCore, type LimiterRuntime, type SnapshotRedis } from '../store/limiter-core';
import { createRedisClient } from '../store/redis-client';
import { usageStub } from '../telemetry/embedded-usage';
import { log } from '../telemetry/log';

export class LimiterObject extends DurableObject<Env> {
  private core: LimiterCore;
  private redis: Redis | undefined;
  private redisUrl: string | undefined;
  /** Redis commands this object sent (snapshots and reloads), for the benchmark. */
  private commands = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.core = new LimiterCore(this.runtime());
    ctx.blockConcurrencyWhile(async () => {
      const entries = await ctx.storage.list();
      this.core = new LimiterCore(this.runtime(), {
        entries,
        alarmAt: await ctx.storage.getAlarm(),
      });
    });
  }

  /** Checks and records every window of one request, all or nothing. */
  check(request: CheckRequest, options: LimiterCallOptions = {}): Promise<CheckOutcome> {
    return this.core.check(request, options);
  }

  /**
   * Grants a lease of up to `ask.units` units for the `fast` consistency mode, first taking back
   * what the previous lease left unused. The algorithm records granted units so that the window
   * never holds more than the limit, whatever the isolates do with their leases.
   */
  lease(
    request: CheckRequest,
    ask: LeaseAsk,
    options: LimiterCallOptions = {},
  ): Promise<LeaseGrant> {
    return this.core.lease(request, ask, options);
  }

  /** Gives back the slots of a finished request (concurrency limits); unknown tokens are no-ops. */
  release(request: ReleaseRequest): Promise<void> {
    return this.core.release(request);
  }

  /** Number of Redis commands sent by this object so far (benchmarks and tests). */
  redisCommands(): number {
    return this.commands;
  }

  /** Units decided since the last save (what an eviction now would lose), for tests. */
  unsavedUnits(): number {
    return this.core.unsavedUnits();
  }

  /** Saves, sends Redis the snapshot, sweeps. */
  override alarm(): Promise<void> {
    return this.core.alarm();
  }

  /**
   * The runtime as the core sees it. Writes are not awaited: the output gate holds the reply until
   * they are durable, while the next request is already decided from memory. `this.ctx` is read
   * at each call (the benchmark's counting entry replaces it after construction).
   */
  private runtime(): LimiterRuntime {
    return {
      now: () => Date.now(),
      storage: {
        put: (entries) => void this.ctx.storage.put(entries),
        delete: (names) => void this.ctx.storage.delete(names),
        setAlarm: (at) => void this.ctx.storage.setAlarm(at),
      },
      redis: (options) => this.redisFor(options),
      onRedisCommand: () => {
        this.commands++;
      },
      // Counted fleet-wide so metrics and alerts show it; a failure to count is only logged.
      onWriteBehindFailure: (error) =>
        void usageStub(this.env.USAGE)
          .reportWriteBehindFailure(Date.now(), String(error))
          .catch((e: unknown) =>
            log('internal-error', { where: 'write-behind-report', message: String(e) }, 'error'),
          ),
    };
  }

  /**
   * The worker names the Redis with each hybrid call. A restarted object whose alarm comes first
   * uses the Upstash settings of the environment it shares with the worker, so what the last
   * instance owed Redis reaches it without waiting for traffic.
   */
  private redisFor(options?: LimiterCallOptions): SnapshotRedis | undefined {
    if (options?.writeBehind) this.useRedis(options.writeBehind.url, options.writeBehind.token);
    if (!this.redis) {
      const { UPSTASH_REDIS_REST_URL: url, UPSTASH_REDIS_REST_TOKEN: token } = this.env as Bindings;
      if (url && token) this.useRedis(url, token);
    }
    const redis = this.redis;
    if (!redis) return undefined;
    return {
      get: (key) => redis.get(key),
      set: (key, value, ttlMs) => redis.set(key, value, { px: Math.max(1, Math.ceil(ttlMs)) }),
    };
  }

  private useRedis(url: string, token: string): void {
    if (this.redisUrl === url && this.redis) return;
    this.redis = createRedisClient(url, token);
    this.redisUrl = url;
  }
}
