/**
 * The limiter Durable Object in the simulation: the project's own `LimiterCore`
 * (`src/store/limiter-core.ts`, which the real shell `src/objects/limiter-object.ts` wraps too)
 * over a simulated storage (rows counted as billed) and the simulated Redis. Nothing of the
 * object's logic is repeated here.
 */
import { LimiterCore, type SnapshotRedis } from '../../src/store/limiter-core';

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

  /** Every entry (`storage.list()`), as a fresh instance reads them. */
  list(): [string, unknown][] {
    this.rowsRead += this.entries.size;
    return [...this.entries];
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
  redis: SnapshotRedis;
  /** Told once per Redis HTTP call the object sends. */
  onRedisCall(): void;
  /** The environment names an Upstash Redis (hybrid mode), as the worker's secrets do. */
  readonly redisConfigured: boolean;
}

/** One instance of the object: created cold from storage, dropped on eviction. */
export function simLimiterObject(env: ObjectEnvironment): LimiterCore {
  const { storage } = env;
  return new LimiterCore(
    {
      now: () => env.now(),
      storage: {
        put: (entries) => storage.put(entries),
        delete: (names) => storage.delete(names),
        setAlarm: (at) => {
          storage.setAlarm(at);
          env.scheduleAlarm(at);
        },
      },
      redis: () => (env.redisConfigured ? env.redis : undefined),
      onRedisCommand: () => env.onRedisCall(),
    },
    { entries: storage.list(), alarmAt: storage.alarm },
  );
}
