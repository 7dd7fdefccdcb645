/**
 * Upstash Redis as the simulation sees it: hashes of cells with a TTL, the two operations the
 * hybrid object sends (HGETALL on a cold reload, the write-behind merge script), billed the way
 * Upstash bills them (every command the script runs), and periods when it is slow or down.
 */
import type { VirtualTime } from './virtual-time';

/** A period when Redis answers late or not at all, in virtual ms. */
export interface RedisIncident {
  readonly from: number;
  readonly to: number;
  readonly kind: 'slow' | 'down';
  /** Added to every call while slow, ms. */
  readonly extraMs?: number;
}

/** The Redis of the simulation. */
export class SimRedis {
  private readonly hashes = new Map<string, { cells: Map<number, number>; expiresAt: number }>();
  /** Commands as Upstash bills them. */
  billed = 0;
  /** Calls that failed because Redis was down. */
  failures = 0;

  constructor(
    private readonly vt: VirtualTime,
    private readonly incidents: readonly RedisIncident[] = [],
  ) {}

  /** Extra latency of a call starting now, or `null` when Redis is down. */
  condition(): number | null {
    const now = this.vt.now;
    let extra = 0;
    for (const i of this.incidents) {
      if (now < i.from || now >= i.to) continue;
      if (i.kind === 'down') return null;
      extra += i.extraMs ?? 0;
    }
    return extra;
  }

  /** HGETALL: one billed command. */
  hgetall(key: string): Record<string, number> | null {
    this.available();
    this.billed += 1;
    const hash = this.live(key);
    return hash ? Object.fromEntries(hash.cells) : null;
  }

  /**
   * The merge script (`merge.ts`): per key, ARGV = ttl, n pairs, then n (cell, units) pairs;
   * HINCRBY per pair and PEXPIRE per key. Billed: the EVALSHA plus every command it runs.
   */
  merge(keys: readonly string[], args: readonly string[]): number {
    this.available();
    this.billed += 1;
    let a = 0;
    for (const key of keys) {
      const ttl = Number(args[a]);
      const pairs = Number(args[a + 1]);
      a += 2;
      const hash = this.live(key) ?? { cells: new Map<number, number>(), expiresAt: 0 };
      for (let p = 0; p < pairs; p++) {
        const cell = Number(args[a]);
        hash.cells.set(cell, (hash.cells.get(cell) ?? 0) + Number(args[a + 1]));
        a += 2;
        this.billed += 1;
      }
      hash.expiresAt = this.vt.now + ttl;
      this.billed += 1;
      this.hashes.set(key, hash);
    }
    return keys.length;
  }

  private available(): void {
    if (this.condition() === null) {
      this.failures++;
      throw new Error('redis unavailable (simulated outage)');
    }
  }

  private live(key: string) {
    const hash = this.hashes.get(key);
    if (hash && hash.expiresAt <= this.vt.now) {
      this.hashes.delete(key);
      return undefined;
    }
    return hash;
  }
}
