/**
 * The limiter Durable Object's logic without the runtime: which plain module is called when, over
 * an injected storage, Redis and clock. `objects/limiter-object.ts` wraps it in the Workers
 * runtime; the simulation (`scripts/sim/sim-object.ts`) drives the same class in virtual time.
 *
 * Decisions change memory only (`hot-cache.ts`). The object saves its whole identity as one
 * snapshot row (`storage-layout.ts`) from its alarm, at most `SAVE_INTERVAL_MS` after the first
 * unsaved change, or within the decision once a window's unsaved units reach `unsavedLimit` of its
 * limit or a concurrency slot is taken (`save-plan.ts`); a lease call that only gives units back
 * waits for the next save something else asks for (`onlyGivesBack`). In hybrid mode the alarm then sends Redis
 * the same snapshot, coarsened (`Algorithm.coarsen`), in one `SET ... PX`; a cold object without
 * storage reads it back with one `GET` (`cold-reload.ts`).
 */
import type { Cells } from '../limiter/algorithm';
import type { CheckOutcome, CheckRequest, ReleaseRequest } from '../limiter/contract';
import { snapshotKey } from '../limiter/keys';
import type { LeaseAsk, LeaseGrant } from '../limiter/lease-protocol';
import { log } from '../telemetry/log';
import { ColdReload } from './cold-reload';
import type { LimiterCallOptions } from './durable-object-store';
import { type Commit, HotCache } from './hot-cache';
import { bringsForward, onlyGivesBack, retryDelayMs, unsavedLimit, wantedAlarm } from './save-plan';
import { decodeWindows, encodeWindows } from './snapshot-codec';
import { deleteBatches, rowName, snapshotRows, stateFromEntries } from './storage-layout';

/** The object's storage, as the core uses it: writes are not awaited (the runtime's output gate holds replies until they are durable). */
export interface CoreStorage {
  put(entries: Record<string, unknown>): void;
  delete(names: string[]): void;
  setAlarm(at: number): void;
}

/** The two commands the hybrid object sends Redis. */
export interface SnapshotRedis {
  /** `GET key`: the value, its JSON text, or `null`. */
  get(key: string): Promise<unknown>;
  /** `SET key value PX ttlMs`. */
  set(key: string, value: string, ttlMs: number): Promise<unknown>;
}

/** What the core needs from the runtime it runs in. */
export interface LimiterRuntime {
  now(): number;
  readonly storage: CoreStorage;
  /**
   * The Redis of a hybrid call (from its options); without options, the one last used or the
   * environment's (a restarted object's alarm); `undefined` when there is none.
   */
  redis(options?: LimiterCallOptions): SnapshotRedis | undefined;
  /** Told once per Redis command sent. */
  onRedisCommand?(): void;
  /** Told when the snapshot could not be sent (Redis down); the next alarm retries. */
  onWriteBehindFailure?(error: unknown): void;
}

/** What the object found in storage when it started. */
export interface Loaded {
  readonly entries: Iterable<[string, unknown]>;
  readonly alarmAt: number | null;
}

/** One identity's limiter: decisions in memory, saved per batch. */
export class LimiterCore {
  private readonly cache: HotCache;
  private readonly reloads: ColdReload;
  private identity: string | undefined;
  /** This identity is written behind to Redis. */
  private hybrid: boolean;
  private alarmAt: number | null;
  private rows: number;
  private legacy: string[];
  /** Positive units per window key not in storage yet, and each window's limit. */
  private readonly unsaved = new Map<string, { units: number; limit: number }>();
  private unsavedSince: number | null = null;
  /** Changes made, and how many of them Redis holds. */
  private changes = 0;
  private sent = 0;
  private unsentSince: number | null = null;
  /** Failed sends in a row, and when to try again. */
  private failures = 0;
  private retryAt: number | null = null;
  private sending: Promise<void> | undefined;

  constructor(
    private readonly runtime: LimiterRuntime,
    loaded: Loaded = { entries: [], alarmAt: null },
  ) {
    const state = stateFromEntries(loaded.entries);
    this.cache = new HotCache(state.windows);
    this.reloads = new ColdReload(this.cache.windows, new Set(state.windows.keys()));
    this.identity = state.identity;
    this.hybrid = state.hybrid;
    this.rows = state.rows;
    this.legacy = state.legacy;
    this.alarmAt = loaded.alarmAt;
    // What the last instance saved may not have reached Redis: send it once more.
    if (this.hybrid && state.windows.size) {
      this.changes = 1;
      this.unsentSince = runtime.now();
    }
  }

  /** Checks and records every window of one request, all or nothing. */
  async check(request: CheckRequest, options: LimiterCallOptions = {}): Promise<CheckOutcome> {
    await this.open(request, options);
    const now = request.now ?? this.runtime.now();
    const { result, commit } = this.cache.check(request, now);
    if (commit) this.changed(commit, now);
    return result;
  }

  /** Grants a `fast` lease, first taking back what the previous lease left unused. */
  async lease(
    request: CheckRequest,
    ask: LeaseAsk,
    options: LimiterCallOptions = {},
  ): Promise<LeaseGrant> {
    await this.open(request, options);
    const now = request.now ?? this.runtime.now();
    const { result, commit } = this.cache.lease(request, now, ask);
    // Refunds alone wait for the next save something else needs (see `onlyGivesBack`).
    if (commit && !onlyGivesBack(ask, result)) this.changed(commit, now);
    return result;
  }

  /** Gives back the slots of a finished request; unknown tokens are no-ops. */
  async release(request: ReleaseRequest): Promise<void> {
    this.identity ??= request.identity;
    const now = request.now ?? this.runtime.now();
    const { commit } = this.cache.release(request, now);
    if (commit) this.changed(commit, now);
  }

  /**
   * Saves what is unsaved, sends Redis the snapshot (hybrid), drops what stopped counting, and
   * sets the next alarm if one is wanted. Redis is only ever called from here and from a cold
   * window's reload, never once per decision.
   */
  async alarm(): Promise<void> {
    this.alarmAt = null;
    let now = this.runtime.now();
    if (this.unsavedSince !== null) this.save(now);
    if (this.changes > this.sent) await this.send();
    now = this.runtime.now();
    this.cache.sweep(now);
    if (!this.cache.windows.size && this.rows && this.unsavedSince === null) this.clear();
    this.schedule(now);
  }

  /** Units decided since the last save to storage, over every window (what a crash would lose). */
  unsavedUnits(): number {
    let units = 0;
    for (const u of this.unsaved.values()) units += u.units;
    return units;
  }

  /** Whether Redis lacks changes this object made (hybrid). */
  owesRedis(): boolean {
    return this.changes > this.sent;
  }

  /** In hybrid mode, makes sure the request's windows are in memory, reloading new ones. */
  private async open(request: CheckRequest, options: LimiterCallOptions): Promise<void> {
    this.identity ??= request.identity;
    if (!options.writeBehind) return;
    const redis = this.runtime.redis(options);
    if (!redis) return;
    this.hybrid = true;
    await this.reloads.reload(
      this.cache.sharedKeysOf(request),
      this.reloadSource(redis),
      options.reloadBudgetMs,
    );
  }

  private reloadSource(redis: SnapshotRedis) {
    const identity = this.identity ?? '';
    return {
      load: async () => {
        const value = await redis.get(snapshotKey(identity));
        return value === null || value === undefined ? null : decodeWindows(value);
      },
      onCommand: () => this.runtime.onRedisCommand?.(),
      // What the load brought in belongs in storage too, with the next save.
      onLoaded: () => {
        this.unsavedSince ??= this.runtime.now();
        this.schedule(this.runtime.now());
      },
    };
  }

  /** Books a decision's changes; saves at once when a window's unsaved units reached the limit. */
  private changed(commit: Commit, now: number): void {
    let saveNow = false;
    let shared = false;
    for (const d of commit.deltas) {
      // A slot taken is saved with the decision: it exists nowhere else, and a forgotten slot
      // would let one more request in flight than the limit. A slot given back waits for the
      // next save: forgotten, it stays held until its lease ends (counted longer, never less).
      if (d.local) {
        if (d.delta > 0) saveNow = true;
        continue;
      }
      shared = true;
      const u = this.unsaved.get(d.key) ?? { units: 0, limit: d.limit };
      // Only units counted can be lost; a refund forgotten counts a unit longer, never shorter.
      u.units += Math.max(0, d.delta);
      u.limit = d.limit;
      this.unsaved.set(d.key, u);
      if (u.units >= unsavedLimit(u.limit)) saveNow = true;
    }
    if (shared && this.hybrid) {
      this.changes++;
      this.unsentSince ??= now;
    }
    if (saveNow) this.save(now);
    else this.unsavedSince ??= now;
    this.schedule(now);
  }

  /** Writes the snapshot row(s), deleting rows and earlier-layout entries it no longer needs. */
  private save(now: number): void {
    this.cache.sweep(now);
    const rows = snapshotRows(this.identity ?? '', this.hybrid, this.cache.windows);
    const count = Object.keys(rows).length;
    if (count) this.runtime.storage.put(rows);
    const stale = [...this.legacy];
    for (let i = count; i < this.rows; i++) stale.push(rowName(i));
    for (const batch of deleteBatches(stale)) this.runtime.storage.delete(batch);
    this.rows = count;
    this.legacy = [];
    this.unsaved.clear();
    this.unsavedSince = null;
  }

  /** Deletes every row: nothing the identity holds counts any more. */
  private clear(): void {
    const names = [...this.legacy];
    for (let i = 0; i < this.rows; i++) names.push(rowName(i));
    for (const batch of deleteBatches(names)) this.runtime.storage.delete(batch);
    this.rows = 0;
    this.legacy = [];
  }

  /** Sends Redis the snapshot of the shared windows, coarsened; one batch in flight at a time. */
  private send(): Promise<void> {
    this.sending ??= this.sendOnce().finally(() => {
      this.sending = undefined;
    });
    return this.sending;
  }

  private async sendOnce(): Promise<void> {
    const redis = this.runtime.redis();
    const identity = this.identity;
    if (!redis || !identity) return;
    try {
      // Windows that only Redis may still hold must be read before they are overwritten.
      if (this.reloads.outstanding() && !(await this.reloads.load(this.reloadSource(redis)))) {
        throw new Error('cold reload from Redis failed; the snapshot waits for it');
      }
      const now = this.runtime.now();
      const upTo = this.changes;
      const coarse: [string, Cells][] = [];
      let expiresAt = Number.NEGATIVE_INFINITY;
      for (const [key, cells] of this.cache.windows) {
        if (!this.cache.isShared(key)) continue;
        const copy = this.cache.algorithm.coarsen(key, cells);
        const until = this.cache.algorithm.expiresAt(key, copy);
        if (until <= now) continue;
        coarse.push([key, copy]);
        expiresAt = Math.max(expiresAt, until);
      }
      // Nothing counts any more: whatever Redis holds has expired with it (its TTL says so).
      if (coarse.length) {
        this.runtime.onRedisCommand?.();
        await redis.set(
          snapshotKey(identity),
          JSON.stringify(encodeWindows(coarse)),
          expiresAt - now,
        );
      }
      this.sent = upTo;
      this.unsentSince = this.changes > this.sent ? this.runtime.now() : null;
      this.failures = 0;
      this.retryAt = null;
    } catch (error) {
      log('store-error', { store: 'write-behind', message: String(error) }, 'error');
      this.failures++;
      this.retryAt = this.runtime.now() + retryDelayMs(this.failures);
      this.runtime.onWriteBehindFailure?.(error);
    }
  }

  /** Sets the alarm the save plan wants, if it is earlier than the one set. */
  private schedule(now: number): void {
    const wanted = wantedAlarm({
      now,
      unsavedSince: this.unsavedSince,
      unsentSince: this.hybrid ? this.unsentSince : null,
      retryAt: this.retryAt,
      expiresAt: this.cache.expiresAt(),
      rows: this.rows,
    });
    // An alarm time that has passed is no alarm to rely on: it ran (elsewhere: an instance
    // that crashed mid-alarm) or will run with nothing to tell it what is owed since. Measured
    // in `npm run sim -- --seed 4`: an object left owing Redis 178 units with its only alarm a
    // day away.
    const pending = this.alarmAt !== null && this.alarmAt > now ? this.alarmAt : null;
    if (wanted !== null && bringsForward(pending, wanted)) {
      this.alarmAt = wanted;
      this.runtime.storage.setAlarm(wanted);
    }
  }
}
