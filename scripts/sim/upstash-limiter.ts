/**
 * @upstash/ratelimit in the simulated fleet, for the comparison rows of `npm run sim`: one
 * `Ratelimit.slidingWindow` per window of a policy, built once per isolate (so its ephemeral
 * cache lives as long as the isolate), every call a round trip from the isolate's location to
 * Upstash's, the script evaluated on the model's Redis state when the call arrives there.
 */

import type { Geography } from './geography';
import type { Rng } from './rng';
import type { Scenario, TierWindow } from './scenario';
import type { RedisIncident } from './sim-redis';
import type { SimIdentity } from './traffic';
import {
  billedCommands,
  CounterKeys,
  EphemeralCache,
  resetAt,
  runSlidingWindowScript,
  UPSTASH_DEFAULT_TIMEOUT_MS,
  windowKeys,
} from './upstash-model';
import type { VirtualTime } from './virtual-time';

/** The @upstash/ratelimit rows: `ephemeralCache: false`, or the library's default cache. */
export type UpstashVariant = 'upstash' | 'upstash-cache';

/** Whether a limiter name is one of the @upstash/ratelimit rows. */
export function isUpstashVariant(name: string): name is UpstashVariant {
  return name === 'upstash' || name === 'upstash-cache';
}

/** One decision as the application sees it, and the instant it was taken. */
export interface UpstashDecision {
  readonly outcome: 'allowed' | 'rejected' | 'failed-open';
  /**
   * The instant judged: when the last script of this request ran in Redis (its counters
   * changed then), or the caller's clock for a decision taken without Redis (cache, timeout,
   * error).
   */
  readonly now: number;
}

/** Options of {@link UpstashFleet}. */
export interface UpstashFleetOptions {
  readonly scenario: Scenario;
  readonly vt: VirtualTime;
  readonly geo: Geography;
  readonly rng: Rng;
  /** The scenario's Redis incidents, in epoch ms. */
  readonly incidents: readonly RedisIncident[];
  readonly variant: UpstashVariant;
  /** `timeout` of `new Ratelimit()`; default the library's 5,000 ms. */
  readonly timeoutMs?: number;
}

/** Extra latency of a call starting at `now`, or `null` while Redis is down (as SimRedis). */
export function redisCondition(incidents: readonly RedisIncident[], now: number): number | null {
  let extra = 0;
  for (const i of incidents) {
    if (now < i.from || now >= i.to) continue;
    if (i.kind === 'down') return null;
    extra += i.extraMs ?? 0;
  }
  return extra;
}

interface UpstashIsolate {
  readonly diesAt: number;
  /** One cache per `Ratelimit` instance, i.e. per window id. */
  readonly caches: Map<string, EphemeralCache>;
}

/** What one `limit()` call resolved to. */
interface WindowAnswer {
  readonly success: boolean;
  /** When the script ran in Redis; undefined when the answer came without it. */
  readonly ranAt?: number;
  /** Resolved by the timeout (`reason: "timeout"`, allowed without an answer). */
  readonly timedOut?: boolean;
}

/** The isolates of every location, each with its `Ratelimit` instances, and one Upstash Redis. */
export class UpstashFleet {
  /** Commands as Upstash bills them (EVALSHA plus every command the script ran). */
  billed = 0;
  /** HTTP calls to Upstash (one EVALSHA each). */
  httpCalls = 0;
  /** `limit()` calls that resolved by the timeout (allowed). */
  timeouts = 0;
  /**
   * Requests whose `limit()` threw (Redis answered with an error; the Upstash client retries
   * network errors only, not error answers); the application allows them.
   */
  errors = 0;
  private readonly redis = new CounterKeys();
  private readonly slots: (UpstashIsolate | undefined)[];
  private readonly timeoutMs: number;

  constructor(private readonly o: UpstashFleetOptions) {
    const s = o.scenario;
    this.slots = new Array(s.locations * s.isolatesPerLocation).fill(undefined);
    this.timeoutMs = o.timeoutMs ?? UPSTASH_DEFAULT_TIMEOUT_MS;
  }

  /**
   * Decides one request the way an application using the library would: every window's
   * `limit()` at once (`Promise.all`), allowed when every one succeeds; a `limit()` that throws
   * (Redis down) is caught and the request allowed, as the scenario's policies fail open.
   * Allowed because a `limit()` timed out counts as failed open: no store answered for it.
   */
  async decide(who: SimIdentity, location: number): Promise<UpstashDecision> {
    const iso = this.isolateAt(location);
    try {
      const answers = await Promise.all(
        who.windows.map((w) => this.limit(iso, who.key, w, location)),
      );
      if (!answers.every((a) => a.success))
        return { outcome: 'rejected', now: this.ranAt(answers) };
      if (answers.some((a) => a.timedOut)) return { outcome: 'failed-open', now: this.o.vt.now };
      return { outcome: 'allowed', now: this.ranAt(answers) };
    } catch {
      this.errors++;
      return { outcome: 'failed-open', now: this.o.vt.now };
    }
  }

  /** When the last script of a request ran, or now when none did (every window cached). */
  private ranAt(answers: readonly WindowAnswer[]): number {
    const ran = answers.flatMap((a) => (a.ranAt === undefined ? [] : [a.ranAt]));
    return ran.length ? Math.max(...ran) : this.o.vt.now;
  }

  /** One `Ratelimit.limit()` of one window: cache, then the script over HTTP, raced by the timeout. */
  private async limit(
    iso: UpstashIsolate,
    identity: string,
    w: TierWindow,
    location: number,
  ): Promise<WindowAnswer> {
    const { vt, geo } = this.o;
    const now = vt.now;
    // One Ratelimit per window, each with its own prefix (as the library passes it, prefixed).
    const identifier = `ratelimit-${w.id}:${identity}`;
    const cache = this.cacheOf(iso, w.id);
    if (cache?.isBlocked(identifier, now)) return { success: false };
    const keys = windowKeys(identifier, now, w.windowMs);
    this.httpCalls++;
    const extra = redisCondition(this.o.incidents, now) ?? 0;
    const call = geo
      .call(
        location,
        geo.upstash,
        async () => {
          if (redisCondition(this.o.incidents, vt.now) === null) {
            throw new Error('redis unavailable (simulated outage)');
          }
          const run = runSlidingWindowScript(this.redis, vt.now, {
            keys,
            tokens: w.limit,
            now,
            windowMs: w.windowMs,
          });
          this.billed += billedCommands(run);
          return { success: run.success, ranAt: vt.now };
        },
        extra,
        identity,
      )
      .then((answer) => {
        // The library updates its cache when the answer comes, even after a timeout won.
        if (cache && !answer.success) cache.blockUntil(identifier, resetAt(now, w.windowMs));
        return answer;
      });
    let timer: { cancel(): void } | undefined;
    const timeout = new Promise<WindowAnswer>((resolve) => {
      timer = vt.at(now + this.timeoutMs, () => {
        this.timeouts++;
        resolve({ success: true, timedOut: true });
      });
    });
    try {
      return await Promise.race([call, timeout]);
    } finally {
      timer?.cancel();
    }
  }

  private cacheOf(iso: UpstashIsolate, windowId: string): EphemeralCache | undefined {
    if (this.o.variant !== 'upstash-cache') return undefined;
    let cache = iso.caches.get(windowId);
    if (!cache) {
      cache = new EphemeralCache();
      iso.caches.set(windowId, cache);
    }
    return cache;
  }

  /** A live isolate at `location`, chosen at random; a dead one is replaced by a fresh one. */
  private isolateAt(location: number): UpstashIsolate {
    const { scenario, vt, rng } = this.o;
    const slot = location * scenario.isolatesPerLocation + rng.int(scenario.isolatesPerLocation);
    let iso = this.slots[slot];
    if (!iso || iso.diesAt <= vt.now) {
      iso = { diesAt: vt.now + rng.exponential(scenario.isolateLifetimeMs), caches: new Map() };
      this.slots[slot] = iso;
    }
    return iso;
  }
}
