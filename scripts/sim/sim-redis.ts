/**
 * Upstash Redis as the simulation sees it: string values with a TTL, the two commands the hybrid
 * object sends (GET of the identity's snapshot on a cold reload, SET of it per batch), billed the
 * way Upstash bills them (one command each), and periods when it is slow or down.
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
  private readonly values = new Map<string, { value: string; expiresAt: number }>();
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

  /** GET: one billed command. */
  get(key: string): string | null {
    this.available();
    this.billed += 1;
    return this.live(key) ?? null;
  }

  /** SET key value PX ttl: one billed command. */
  set(key: string, value: string, ttlMs: number): 'OK' {
    this.available();
    this.billed += 1;
    this.values.set(key, { value, expiresAt: this.vt.now + Math.max(1, Math.ceil(ttlMs)) });
    return 'OK';
  }

  /** The value of `key` now, without billing (for the backlog figure). */
  peek(key: string): string | undefined {
    return this.live(key);
  }

  private available(): void {
    if (this.condition() === null) {
      this.failures++;
      throw new Error('redis unavailable (simulated outage)');
    }
  }

  private live(key: string): string | undefined {
    const entry = this.values.get(key);
    if (entry && entry.expiresAt <= this.vt.now) {
      this.values.delete(key);
      return undefined;
    }
    return entry?.value;
  }
}
