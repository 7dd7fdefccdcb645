/**
 * The Durable Object per rate-limit identity: decisions for one identity are serialized in its
 * memory, and every recorded count is written to the object's storage before the answer leaves,
 * so an eviction or restart loses nothing that was acknowledged.
 */
import { DurableObject } from 'cloudflare:workers';
import { windowKey } from '../limiter/keys';
import { type Buckets, type CheckOutcome, checkAll, prune } from '../limiter/sliding-window';
import type { CheckRequest } from './counter-store';

type Stored = [bucket: number, count: number][];

/** Storage key of one window's buckets: the same key Redis uses, so both read alike. */
const storageKey = windowKey;

export class LimiterObject extends DurableObject<Env> {
  private readonly counters = new Map<string, Buckets>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      const stored = await ctx.storage.list<Stored>({ prefix: 'el:' });
      for (const [key, entries] of stored) this.counters.set(key, new Map(entries));
    });
  }

  /** Checks and records every window of one request, all or nothing. */
  async check(request: CheckRequest): Promise<CheckOutcome> {
    const now = request.now ?? Date.now();
    const byId = new Map<string, Buckets>();
    const keys = new Map<string, string>();
    for (const spec of request.windows) {
      const key = storageKey(request.identity, spec);
      let buckets = this.counters.get(key);
      if (!buckets) {
        buckets = new Map();
        this.counters.set(key, buckets);
      }
      byId.set(spec.id, buckets);
      keys.set(spec.id, key);
    }
    const outcome = checkAll(
      request.windows,
      byId,
      now,
      request.cost ?? 1,
      request.consume ?? true,
    );
    if (outcome.allowed && request.consume !== false && (request.cost ?? 1) > 0) {
      const writes: Record<string, Stored> = {};
      for (const spec of request.windows) {
        const key = keys.get(spec.id);
        const buckets = byId.get(spec.id);
        if (key && buckets) writes[key] = [...prune(buckets, now, spec.windowMs)];
      }
      // Not awaited on purpose: the output gate holds our reply until the write is durable,
      // while later requests are decided from memory without waiting on disk.
      void this.ctx.storage.put(writes);
      await this.scheduleCleanup(now, request);
    }
    return outcome;
  }

  /** Deletes windows whose counts have all expired, so idle objects cost no storage. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    const dead: string[] = [];
    for (const [key, buckets] of this.counters) {
      const windowMs = Number(key.slice(key.lastIndexOf(':') + 1));
      if (prune(buckets, now, windowMs).size === 0) dead.push(key);
    }
    for (const key of dead) this.counters.delete(key);
    if (dead.length) await this.ctx.storage.delete(dead);
    if (this.counters.size) await this.ctx.storage.setAlarm(now + 60_000);
  }

  private async scheduleCleanup(now: number, request: CheckRequest): Promise<void> {
    if ((await this.ctx.storage.getAlarm()) !== null) return;
    const longest = Math.max(...request.windows.map((w) => w.windowMs));
    await this.ctx.storage.setAlarm(now + Math.min(longest + 60_000, 3_600_000));
  }
}
