/**
 * The simulated Cloudflare fleet: isolates per location (each with the worker's own composed
 * store: L1 -> leases -> breaker -> time budget -> Durable Object store) that start and die, and
 * the limiter objects, placed where an identity's first request arrived, one request at a time.
 */
import type { Clock } from '../../src/clock';
import type { Bindings, Settings } from '../../src/env';
import type { Cells } from '../../src/limiter/algorithm';
import { DEFAULT_ALGORITHM } from '../../src/limiter/algorithms/registry';
import type { CheckRequest, CounterStore } from '../../src/limiter/contract';
import { snapshotKey } from '../../src/limiter/keys';
import type { ComposedStore } from '../../src/store/compose';
import { composeStore } from '../../src/store/compose';
import type { LimiterNamespace, LimiterRpc } from '../../src/store/durable-object-store';
import type { LimiterCore } from '../../src/store/limiter-core';
import { shardedIdentity } from '../../src/store/shard-rules';
import { decodeWindows } from '../../src/store/snapshot-codec';
import { stateFromEntries } from '../../src/store/storage-layout';
import type { Geography } from './geography';
import { Rng } from './rng';
import type { Scenario } from './scenario';
import { hybridSettings } from './settings';
import { SimStorage, simLimiterObject } from './sim-object';
import type { SimRedis } from './sim-redis';
import type { Scheduled, VirtualTime } from './virtual-time';

/** How long the refusal oracle (`Scenario.refusalOracleMs`) remembers a refusal [60 s]. */
const REFUSAL_ORACLE_HOLD_MS = 60_000;

/** Refusals closer than this are kept as one (the oracle's resolution) [10 ms]. */
const REFUSAL_ORACLE_STEP_MS = 10;

/**
 * One identity's refusals, oldest first, for the oracle. Every refusal counts, not only the
 * last: an identity refused without a break is known as refused from `delay` after its first
 * refusal on, though its last one is always younger than `delay`.
 */
export class RefusalTimes {
  private times: number[] = [];
  private untils: number[] = [];

  /** A refusal answered at `at`, its object saying no unit frees before `until`. */
  add(at: number, until: number): void {
    const last = this.times.length - 1;
    if (last >= 0 && at - (this.times[last] ?? 0) < REFUSAL_ORACLE_STEP_MS) {
      this.untils[last] = until;
      return;
    }
    this.times.push(at);
    this.untils.push(until);
    const oldest = this.times[0] ?? at;
    // Older than any query can still see (queries come in time order, delays are fixed).
    if (at - oldest > 4 * REFUSAL_ORACLE_HOLD_MS) {
      const keep = this.times.findIndex((t) => at - t <= 2 * REFUSAL_ORACLE_HOLD_MS);
      this.times = this.times.slice(keep);
      this.untils = this.untils.slice(keep);
    }
  }

  /**
   * Whether a refusal is known at `now`: the latest one answered by `now - delay`, less than
   * the hold ago, and `now` still before the time its object said the identity may pass again
   * (a list entry that outlived that would only make first contacts wait for a refusal that no
   * longer holds).
   */
  knownAt(now: number, delayMs: number): boolean {
    const latest = now - delayMs;
    for (let i = this.times.length - 1; i >= 0; i--) {
      const t = this.times[i] ?? 0;
      if (t > latest) continue;
      if (latest - t >= REFUSAL_ORACLE_HOLD_MS) return false;
      return now < (this.untils[i] ?? 0);
    }
    return false;
  }
}

/** Delay before an undelivered alarm is tried again (the runtime backs off from 2 s). */
const ALARM_RETRY_MS = 2_000;

/** Counters of what the fleet was billed for and how hard its objects were driven. */
export interface FleetCounters {
  doRequests: number;
  alarms: number;
  redisCalls: number;
  kvReads: number;
  objectsCreated: number;
  evictions: number;
  overloaded: number;
  /** Calls failed by `FleetOptions.objectDown`. */
  failedCalls: number;
  activeMs: number;
  maxObjectRps: number;
  maxObjectRpsIdentity: string;
}

/** Requests one object received in each second of the run (index 0: the run's first second). */
export type PerSecond = readonly number[];

/** One identity's object: where it lives, its storage, its instance while in memory. */
interface Hosted {
  readonly identity: string;
  readonly location: number;
  readonly storage: SimStorage;
  instance: LimiterCore | undefined;
  busyUntil: number;
  alarm: Scheduled | undefined;
  second: number;
  inSecond: number;
  /** Requests per second of the run, from its first second. */
  readonly perSecond: number[];
}

/** One isolate: its composed store and its key/policy cache (KV reads). */
export interface Isolate {
  readonly location: number;
  readonly store: CounterStore;
  readonly composed: ComposedStore;
  readonly diesAt: number;
  readonly configUntil: Map<string, number>;
  policyUntil: number;
}

/** Options of {@link Fleet}. */
export interface FleetOptions {
  readonly scenario: Scenario;
  readonly vt: VirtualTime;
  readonly geo: Geography;
  readonly redis: SimRedis;
  readonly rng: Rng;
  /** Pins `CheckRequest.now` to the isolate's clock (the agreement scenario, at 0 ms RTT). */
  readonly pinNow?: boolean;
  /** Epoch ms during which one identity's object fails every call (`Scenario.attackerObjectDown`). */
  readonly objectDown?: { readonly identity: string; readonly from: number; readonly to: number };
}

export class Fleet {
  readonly counters: FleetCounters = {
    doRequests: 0,
    alarms: 0,
    redisCalls: 0,
    kvReads: 0,
    objectsCreated: 0,
    evictions: 0,
    overloaded: 0,
    failedCalls: 0,
    activeMs: 0,
    maxObjectRps: 0,
    maxObjectRpsIdentity: '',
  };
  private readonly objects = new Map<string, Hosted>();
  /** When each identity's object answered leases with refusals (the refusal oracle). */
  private readonly refusals = new Map<string, RefusalTimes>();
  /** Isolates started so far (seeds each one's jitter stream). */
  private isolatesStarted = 0;
  private readonly slots: (Isolate | undefined)[];
  private readonly settings: Settings;
  private readonly clock: Clock;
  /** The second (epoch s) the run started in: index 0 of every object's `perSecond`. */
  private readonly firstSecond: number;

  constructor(private readonly o: FleetOptions) {
    const s = o.scenario;
    this.firstSecond = Math.floor(o.vt.now / 1000);
    this.slots = new Array(s.locations * s.isolatesPerLocation).fill(undefined);
    this.clock = { now: () => o.vt.now };
    // Only passed on to the object, which talks to the simulated Redis.
    this.settings = hybridSettings(s, { url: 'https://sim.upstash.invalid', token: 'sim' });
  }

  /**
   * A live isolate at `location`, chosen at random, or for `caller` always the one in the same
   * slot (its connection; `Scenario.affinity`); a dead one is replaced by a fresh one.
   */
  isolateAt(location: number, caller?: number): Isolate {
    const s = this.o.scenario;
    const pick =
      caller === undefined
        ? this.o.rng.int(s.isolatesPerLocation)
        : slotHash(caller, location) % s.isolatesPerLocation;
    const slot = location * s.isolatesPerLocation + pick;
    let iso = this.slots[slot];
    if (!iso || iso.diesAt <= this.o.vt.now) {
      iso = this.startIsolate(location);
      this.slots[slot] = iso;
    }
    return iso;
  }

  /**
   * After a decision, arms `iso`'s return timer as the worker's request does from its
   * `waitUntil` (`store/return-timer.ts`); in an isolate that died while it waited, it never
   * fires (its units stay stranded, as in a killed isolate).
   */
  armReturns(iso: Isolate): void {
    void iso.composed.armReturns(async (ms) => {
      await this.o.vt.sleep(ms);
      if (iso.diesAt <= this.o.vt.now) await new Promise<never>(() => {});
    });
  }

  /** KV reads an isolate makes for one request: the key and customer records, the policy. */
  readConfig(iso: Isolate, identity: string, keyed: boolean): void {
    const now = this.o.vt.now;
    const ttl = this.o.scenario.configTtlMs;
    if (iso.policyUntil <= now) {
      this.counters.kvReads++;
      iso.policyUntil = now + ttl;
    }
    if (!keyed) return;
    if ((iso.configUntil.get(identity) ?? 0) <= now) {
      this.counters.kvReads += 2;
      iso.configUntil.set(identity, now + ttl);
    }
  }

  /**
   * Units the objects' storage counts that Redis does not (yet): per identity, what its stored
   * snapshot counts now beyond what its Redis snapshot counts, summed. An object in memory that
   * owes Redis nothing is left out: its storage may still count units a give-back returned
   * (saved with its next save, `save-plan.ts` `onlyGivesBack`) that Redis already got.
   */
  pendingUnits(): number {
    const now = this.o.vt.now;
    let units = 0;
    for (const h of this.objects.values()) {
      if (h.instance && !h.instance.owesRedis()) continue;
      const stored = liveUnits(stateFromEntries(h.storage.entries).windows, now);
      if (!stored) continue;
      const copy = this.o.redis.peek(snapshotKey(h.identity));
      units += Math.max(0, stored - (copy ? liveUnits(decodeWindows(copy), now) : 0));
    }
    return units;
  }

  /** Rows written to and read from every object's storage. */
  storageRows(): { written: number; read: number } {
    let written = 0;
    let read = 0;
    for (const h of this.objects.values()) {
      written += h.storage.rowsWritten;
      read += h.storage.rowsRead;
    }
    return { written, read };
  }

  /**
   * Requests the busiest of `identity`'s objects (its own, or its shards': `shard-rules.ts`)
   * received in each second of the run (empty if none).
   */
  busiestPerSecond(identity: string): PerSecond {
    const busiest: number[] = [];
    for (const h of this.objects.values()) {
      if (shardedIdentity(h.identity) !== identity) continue;
      Array.from(h.perSecond, (n) => n ?? 0).forEach((n, i) => {
        busiest[i] = Math.max(busiest[i] ?? 0, n);
      });
    }
    return Array.from(busiest, (n) => n ?? 0);
  }

  /** How many objects `identity` is counted in: its own and its shards' (0 if none). */
  objectsOf(identity: string): number {
    let n = 0;
    for (const h of this.objects.values()) if (shardedIdentity(h.identity) === identity) n++;
    return n;
  }

  /** Requests `identity`'s object received in each second of the run (empty if none). */
  perSecond(identity: string): PerSecond {
    return Array.from(this.objects.get(identity)?.perSecond ?? [], (n) => n ?? 0);
  }

  /**
   * Evicts a share of the objects in memory: they come back cold, from their storage. Returns
   * who was evicted and the units each forgot (decided since its last save).
   */
  evict(share: number): { identity: string; unsavedUnits: number }[] {
    const evicted: { identity: string; unsavedUnits: number }[] = [];
    for (const h of this.objects.values()) {
      if (h.instance && this.o.rng.next() < share) {
        evicted.push({ identity: h.identity, unsavedUnits: h.instance.unsavedUnits() });
        h.instance = undefined;
        this.counters.evictions++;
      }
    }
    return evicted;
  }

  private startIsolate(location: number): Isolate {
    const namespace: LimiterNamespace = {
      idFromName: (name: string) => ({ name }) as unknown as DurableObjectId,
      get: (id: DurableObjectId) => this.stub(String(id.name), location),
    };
    // composeStore reads only the LIMITER binding of the environment.
    const env = { LIMITER: namespace } as unknown as Bindings;
    const delay = this.o.scenario.refusalOracleMs;
    // Each isolate's own stream, seeded by its place in the start order: the lease store's
    // jitter draws nothing from the fleet's stream, so the rest of the run keeps its draws.
    const jitter = new Rng(0x5eed ^ Math.imul(++this.isolatesStarted, 0x9e3779b1));
    const composed = composeStore(env, this.settings, this.clock, {
      random: () => jitter.next(),
      ...(delay === undefined
        ? {}
        : {
            refusedElsewhere: (identity: string, now: number) =>
              this.refusals.get(identity)?.knownAt(now, delay) ?? false,
          }),
    });
    const store: CounterStore = this.o.pinNow
      ? {
          name: composed.store.name,
          check: (r: CheckRequest) => composed.store.check({ ...r, now: this.clock.now() }),
        }
      : composed.store;
    return {
      location,
      store,
      composed,
      diesAt: this.o.vt.now + this.o.rng.exponential(this.o.scenario.isolateLifetimeMs),
      configUntil: new Map(),
      policyUntil: 0,
    };
  }

  private stub(identity: string, from: number): LimiterRpc {
    const hosted = () => this.host(identity, from);
    return {
      check: (request, options) => {
        const h = hosted();
        return this.o.geo.call(
          from,
          h.location,
          () => this.deliver(h, (o) => o.check(request, options)),
          0,
          identity,
        );
      },
      lease: (request, ask, options) => {
        const h = hosted();
        return this.o.geo.call(
          from,
          h.location,
          () =>
            this.deliver(h, (o) => o.lease(request, ask, options)).then((grant) => {
              if (grant.outcome.allowed) return grant;
              let times = this.refusals.get(identity);
              if (!times) {
                times = new RefusalTimes();
                this.refusals.set(identity, times);
              }
              // When the object says a request may pass again: every window it found full has
              // freed a unit (the latest of their retry times).
              const full = grant.outcome.windows.filter((w) => w.remaining <= 0);
              times.add(this.o.vt.now, Math.max(this.o.vt.now, ...full.map((w) => w.retryAt)));
              return grant;
            }),
          0,
          identity,
        );
      },
      release: (request) => {
        const h = hosted();
        return this.o.geo.call(
          from,
          h.location,
          () => this.deliver(h, (o) => o.release(request)),
          0,
          identity,
        );
      },
    };
  }

  private host(identity: string, from: number): Hosted {
    let h = this.objects.get(identity);
    if (!h) {
      h = {
        identity,
        location: from,
        storage: new SimStorage(),
        instance: undefined,
        busyUntil: 0,
        alarm: undefined,
        second: -1,
        inSecond: 0,
        perSecond: [],
      };
      this.objects.set(identity, h);
    }
    return h;
  }

  /** One request to an object: queued behind the ones before it, one at a time. */
  private async deliver<T>(h: Hosted, fn: (o: LimiterCore) => Promise<T>): Promise<T> {
    const { vt, scenario } = this.o;
    this.counters.doRequests++;
    const second = Math.floor(vt.now / 1000);
    if (second !== h.second) {
      h.second = second;
      h.inSecond = 0;
    }
    h.inSecond++;
    const index = second - this.firstSecond;
    h.perSecond[index] = (h.perSecond[index] ?? 0) + 1;
    if (h.inSecond > this.counters.maxObjectRps) {
      this.counters.maxObjectRps = h.inSecond;
      this.counters.maxObjectRpsIdentity = h.identity;
    }
    const down = this.o.objectDown;
    if (down && h.identity === down.identity && vt.now >= down.from && vt.now < down.to) {
      this.counters.failedCalls++;
      throw new Error('Durable Object failed (what-if outage)');
    }
    const start = Math.max(vt.now, h.busyUntil);
    if (start - vt.now > scenario.objectMaxQueueMs) {
      this.counters.overloaded++;
      throw new Error('Durable Object is overloaded');
    }
    h.busyUntil = start + scenario.objectServiceMs;
    if (start > vt.now) await vt.sleep(start - vt.now);
    if (!h.instance) {
      h.instance = simLimiterObject(this.objectEnv(h));
      this.counters.objectsCreated++;
    }
    const began = vt.now;
    const result = await fn(h.instance);
    const done = Math.max(vt.now, began + scenario.objectServiceMs);
    if (done > vt.now) await vt.sleep(done - vt.now);
    this.counters.activeMs += done - began;
    return result;
  }

  private objectEnv(h: Hosted) {
    const { vt, geo, redis } = this.o;
    const viaNetwork = <T>(op: () => T) =>
      geo.call(h.location, geo.upstash, async () => op(), redis.condition() ?? 0, h.identity);
    return {
      now: () => vt.now,
      storage: h.storage,
      scheduleAlarm: (at: number) => {
        h.alarm?.cancel();
        const fire = () => {
          h.alarm = undefined;
          this.counters.alarms++;
          // An alarm that cannot be delivered (object overloaded) is retried, as the runtime does.
          this.deliver(h, (o) => o.alarm()).catch(() => {
            if (!h.alarm) h.alarm = vt.at(vt.now + ALARM_RETRY_MS, fire);
          });
        };
        h.alarm = vt.at(at, fire);
      },
      redis: {
        get: (key: string) => viaNetwork(() => redis.get(key)),
        set: (key: string, value: string, ttlMs: number) =>
          viaNetwork(() => redis.set(key, value, ttlMs)),
      },
      onRedisCall: () => {
        this.counters.redisCalls++;
      },
      redisConfigured: true,
    };
  }
}

/** Units counted at `now` in the shared windows of `windows` (slots left out). */
function liveUnits(windows: Map<string, Cells>, now: number): number {
  const algorithm = DEFAULT_ALGORITHM;
  let units = 0;
  for (const [key, cells] of windows) {
    if (algorithm.sharedKey && !algorithm.sharedKey(key)) continue;
    const copy = new Map(cells);
    algorithm.expire(key, copy, now);
    for (const n of copy.values()) units += n;
  }
  return units;
}

/** A caller's slot at a location: a fixed, well-spread hash of the two (Knuth's multiplier). */
function slotHash(caller: number, location: number): number {
  return (Math.imul(caller + 1, 2_654_435_761) ^ Math.imul(location + 1, 40_503)) >>> 0;
}
