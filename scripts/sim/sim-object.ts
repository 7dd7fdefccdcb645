/**
 * The limiter Durable Object in the simulation: the same plain modules the real shell
 * (`src/objects/limiter-object.ts`) delegates to — hot cache, storage layout, write-behind, cold
 * reload, alarm plan — glued the same way, over a simulated storage (rows counted as billed) and
 * the simulated Redis. Only the glue is repeated here, because the real shell extends the
 * runtime's `DurableObject` class; decisions and what to persist come from `src/store/`.
 */
import { DEFAULT_ALGORITHM } from '../../src/limiter/algorithms/registry';
import type { CheckOutcome, CheckRequest, ReleaseRequest } from '../../src/limiter/contract';
import type { LeaseAsk, LeaseGrant } from '../../src/limiter/lease-protocol';
import { alarmAfterAlarm, alarmAfterCommit, bringsForward } from '../../src/store/alarm-plan';
import { ColdReload } from '../../src/store/cold-reload';
import type { LimiterCallOptions } from '../../src/store/durable-object-store';
import { type Commit, HotCache } from '../../src/store/hot-cache';
import {
  CELL_PREFIX,
  cellEntry,
  cellsFromEntries,
  deleteBatches,
  PENDING_KEY,
} from '../../src/store/storage-layout';
import { type StoredPending, WriteBehind } from '../../src/store/write-behind';

const algorithm = DEFAULT_ALGORITHM;

/** An object's storage: it outlives evictions; rows are counted the way SQLite storage bills. */
export class SimStorage {
  readonly entries = new Map<string, unknown>();
  alarm: number | null = null;
  rowsWritten = 0;
  rowsRead = 0;

  put(writes: Record<string, unknown>): void {
    for (const [k, v] of Object.entries(writes)) {
      this.entries.set(k, v);
      this.rowsWritten++;
    }
  }

  delete(names: readonly string[]): void {
    for (const n of names) if (this.entries.delete(n)) this.rowsWritten++;
  }

  list(prefix: string): [string, unknown][] {
    const out: [string, unknown][] = [];
    for (const entry of this.entries) if (entry[0].startsWith(prefix)) out.push(entry);
    this.rowsRead += out.length;
    return out;
  }

  get(name: string): unknown {
    this.rowsRead++;
    return this.entries.get(name);
  }

  setAlarm(at: number): void {
    this.alarm = at;
    this.rowsWritten++;
  }
}

/** What the object needs from its surroundings. */
export interface ObjectEnvironment {
  now(): number;
  storage: SimStorage;
  /** Sets the alarm the host delivers (after the storage row is written). */
  scheduleAlarm(at: number): void;
  /** Redis calls from the object's location, through the network; throw when Redis is down. */
  redis: {
    hgetall(key: string): Promise<Record<string, number> | null>;
    merge(keys: string[], args: string[]): Promise<unknown>;
  };
  /** Told once per Redis HTTP call the object sends. */
  onRedisCall(): void;
  /** The environment names an Upstash Redis (hybrid mode), as the worker's secrets do. */
  readonly redisConfigured: boolean;
}

/** One instance of the object: created cold from storage, dropped on eviction. */
export class SimLimiterObject {
  private cache: HotCache;
  private reloads: ColdReload;
  private writeBehind: WriteBehind;
  private alarmAt: number | null;

  constructor(private readonly env: ObjectEnvironment) {
    const { storage } = env;
    this.cache = new HotCache(cellsFromEntries(storage.list(CELL_PREFIX)));
    this.reloads = new ColdReload(this.cache.windows);
    this.writeBehind = new WriteBehind(storage.get(PENDING_KEY) as StoredPending | undefined);
    this.alarmAt = storage.alarm;
  }

  async check(request: CheckRequest, options: LimiterCallOptions = {}): Promise<CheckOutcome> {
    const writeBehind = await this.open(request, options);
    const now = request.now ?? this.env.now();
    const { result, commit } = this.cache.check(request, now);
    if (commit) this.persist(commit, now, writeBehind);
    return result;
  }

  async lease(
    request: CheckRequest,
    ask: LeaseAsk,
    options: LimiterCallOptions = {},
  ): Promise<LeaseGrant> {
    const writeBehind = await this.open(request, options);
    const now = request.now ?? this.env.now();
    const { result, commit } = this.cache.lease(request, now, ask);
    if (commit) this.persist(commit, now, writeBehind);
    return result;
  }

  /** Gives back a concurrency slot, as `LimiterObject.release` does (the model sends none yet). */
  async release(request: ReleaseRequest): Promise<void> {
    const now = request.now ?? this.env.now();
    const { commit } = this.cache.release(request, now);
    if (commit) this.persist(commit, now, false);
  }

  async alarm(): Promise<void> {
    this.alarmAt = null;
    this.env.storage.alarm = null;
    // As the real shell: a restarted object's alarm flushes with the environment's Redis.
    if (this.env.redisConfigured && this.writeBehind.units() > 0) this.usesRedis = true;
    await this.flush();
    const now = this.env.now();
    for (const batch of deleteBatches(this.cache.sweep(now))) this.env.storage.delete(batch);
    const next = alarmAfterAlarm(now, this.writeBehind.units(), this.cache.windows.size);
    if (next !== null && bringsForward(this.alarmAt, next)) this.setAlarm(next);
  }

  private usesRedis = false;

  private async flush(): Promise<void> {
    if (!this.usesRedis) return;
    await this.writeBehind.flush(
      {
        call: (pending) => algorithm.mergeCall(pending),
        send: (keys, args) => {
          this.env.onRedisCall();
          return this.env.redis.merge(keys, args);
        },
      },
      async (stored) => {
        this.env.storage.put({ [PENDING_KEY]: stored });
      },
    );
  }

  private async open(request: CheckRequest, options: LimiterCallOptions): Promise<boolean> {
    if (!options.writeBehind) return false;
    this.usesRedis = true;
    await this.reloads.reload(
      this.cache.keysOf(request),
      {
        load: (key) => this.env.redis.hgetall(key),
        flushes: () => this.writeBehind.flushes,
        onCommand: () => this.env.onRedisCall(),
        onLoaded: (key, cells) => {
          const writes: Record<string, number> = {};
          for (const [cell, n] of cells) writes[cellEntry(key, cell)] = n;
          this.env.storage.put(writes);
        },
      },
      options.reloadBudgetMs,
    );
    return true;
  }

  private persist(commit: Commit, now: number, writeBehind: boolean): void {
    const writes: Record<string, number | StoredPending> = { ...commit.writes };
    let units = 0;
    if (writeBehind) {
      for (const d of commit.deltas)
        units = this.writeBehind.add(d.key, d.windowMs, d.cell, d.delta);
      writes[PENDING_KEY] = this.writeBehind.stored();
    }
    this.env.storage.put(writes);
    for (const batch of deleteBatches(commit.deletes)) this.env.storage.delete(batch);
    const wanted = alarmAfterCommit(now, writeBehind, units, commit.longestWindowMs);
    if (bringsForward(this.alarmAt, wanted)) this.setAlarm(wanted);
  }

  private setAlarm(at: number): void {
    this.alarmAt = at;
    this.env.storage.setAlarm(at);
    this.env.scheduleAlarm(at);
  }
}
