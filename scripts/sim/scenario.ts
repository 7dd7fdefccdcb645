/** A production scenario for the simulation: geography, fleet, incidents and traffic, and the default one. */
import { DEFAULT_RTT, type RttModel } from './geography';
import type { RedisIncident } from './sim-redis';

/** The tiers identities belong to (the PRD's, plus anonymous callers by IP). */
export type Tier = 'anonymous' | 'free' | 'pro' | 'enterprise';

/** One window of a tier's policy. */
export interface TierWindow {
  readonly id: string;
  readonly limit: number;
  readonly windowMs: number;
  readonly window: string;
}

/** Everything a simulation run is made of; times are ms from the start of the run. */
export interface Scenario {
  readonly name: string;
  readonly seed: number;
  readonly durationMs: number;
  /** Epoch ms of the run's start; a minute boundary plus `startOffsetMs`. */
  readonly startOffsetMs: number;
  readonly locations: number;
  readonly rtt: RttModel;
  /** Isolates per location; each lives an exponential lifetime of this mean, then a fresh one. */
  readonly isolatesPerLocation: number;
  readonly isolateLifetimeMs: number;
  /** Time one object spends on one request (1 ms: Cloudflare's ~1,000 requests/s per object). */
  readonly objectServiceMs: number;
  /** An object whose queue is longer than this refuses the request (overloaded). */
  readonly objectMaxQueueMs: number;
  /** Every `evictEveryMs`, this share of the objects in memory is evicted. */
  readonly evictEveryMs: number;
  readonly evictShare: number;
  readonly redisIncidents: readonly RedisIncident[];
  readonly identities: number;
  readonly zipfS: number;
  /** Shares of identities per tier (by draw, not by rank). */
  readonly tierShares: Readonly<Record<Tier, number>>;
  readonly tierWindows: Readonly<Record<Tier, readonly TierWindow[]>>;
  /** Requests per second of the Zipf background. */
  readonly backgroundRps: number;
  /** Share of an identity's requests sent from its home location. */
  readonly homeShare: number;
  /**
   * What-if, off unless set (`--affinity`): every caller but the big customer sends all its
   * requests at one location to one isolate there (one keep-alive connection per caller and
   * location, as HTTP clients keep one), instead of to any of the location's isolates at random.
   */
  readonly affinity?: boolean;
  /** Bursts: `limit` requests of the identity's first window in 1/20 of that window. */
  readonly bursts: number;
  /** The big enterprise customer, spread over every location. */
  readonly bigCustomer: { readonly rps: number; readonly windows: readonly TierWindow[] } | null;
  /** The boundary attacker: `limit` just before and after every minute boundary, everywhere. */
  readonly attacker: { readonly windows: readonly TierWindow[]; readonly spreadMs: number } | null;
  /** Store budget and breaker, as the worker's settings. */
  readonly storeBudgetMs: number;
  /** `LEASE_WAIT_MS`: how long a `fast` request with nothing to decide from waits. */
  readonly leaseWaitMs: number;
  /**
   * `LEASE_RETURN_TIMER`: a quiet isolate gives back its unused lease units from a timer armed
   * after each decision (`store/return-timer.ts`); off with `--return-timer off`.
   */
  readonly returnTimer: boolean;
  /**
   * What-if, off unless set (`--refusal-oracle-ms`): every isolate learns of each refusal an
   * object answers this many ms after it, for free, until the retry time the object gave (at
   * most a minute), and a first contact for a refused identity waits for its object (`LeaseOptions.refusedElsewhere`). An upper bound on
   * what a shared list of refused identities could buy; no such list exists in the worker.
   */
  readonly refusalOracleMs?: number;
  /**
   * What-if, off unless set (`--attacker-object-down FROM-TO`): the boundary attacker's object
   * fails every call (as an overloaded or broken object does) from `from` to `to` ms after the
   * start, so that what a failing object lets pass is measured on the identity that gains from it.
   */
  readonly attackerObjectDown?: { readonly from: number; readonly to: number };
  /** Report the N identities with the most wrong decisions (`--top-wrong`; a report, not a what-if). */
  readonly topWrong?: number;
  readonly breaker: { readonly failures: number; readonly openMs: number };
  /** In-isolate cache of keys and policies (KV reads), ms. */
  readonly configTtlMs: number;
  /** Events closer than this share one drain of promise continuations (see virtual-time.ts). */
  readonly quantumMs: number;
}

/** A one-minute window of `limit` (tiers, endpoint rules, tests). */
export const minute = (limit: number, id = 'minute'): TierWindow => ({
  id,
  limit,
  windowMs: 60_000,
  window: '1m',
});
/** A one-day window of `limit`. */
export const day = (limit: number): TierWindow => ({
  id: 'day',
  limit,
  windowMs: 86_400_000,
  window: '1d',
});

/** The default scenario of `npm run sim` (docs/simulation.md). */
export const DEFAULT_SCENARIO: Scenario = {
  name: 'default',
  seed: 1,
  durationMs: 90_000,
  // Minute boundaries fall 10 s and 70 s into the run: one attack before Redis goes down, one
  // while it is down.
  startOffsetMs: 50_000,
  locations: 50,
  rtt: DEFAULT_RTT,
  isolatesPerLocation: 4,
  isolateLifetimeMs: 180_000,
  objectServiceMs: 1,
  objectMaxQueueMs: 1_000,
  evictEveryMs: 10_000,
  evictShare: 0.05,
  redisIncidents: [
    { from: 12_000, to: 22_000, kind: 'slow', extraMs: 300 },
    { from: 25_000, to: 85_000, kind: 'down' },
  ],
  identities: 10_000,
  zipfS: 1.1,
  tierShares: { anonymous: 0.3, free: 0.45, pro: 0.2, enterprise: 0.05 },
  tierWindows: {
    anonymous: [minute(30), day(300)],
    free: [minute(100), day(1000)],
    pro: [minute(1000)],
    enterprise: [minute(10_000)],
  },
  backgroundRps: 2_000,
  homeShare: 0.8,
  bursts: 40,
  bigCustomer: { rps: 20_000, windows: [minute(1_500_000)] },
  attacker: { windows: [minute(100), day(1000)], spreadMs: 200 },
  storeBudgetMs: 50,
  leaseWaitMs: 250,
  returnTimer: true,
  breaker: { failures: 5, openMs: 5_000 },
  configTtlMs: 10_000,
  quantumMs: 0.05,
};

/**
 * A sparse deployment: a thousand identities sending 50 requests a second in all, no big
 * customer, no attacker, no incident. Each of the 200 isolates sees about one request every 4 s,
 * so a lease usually ends before the isolate's next request: what its unused units do then (the
 * return timer, `--return-timer`) shows here, where the default scenario's busy isolates hide it.
 */
export const SPARSE_SCENARIO: Scenario = {
  ...DEFAULT_SCENARIO,
  name: 'sparse',
  durationMs: 180_000,
  redisIncidents: [],
  identities: 1_000,
  backgroundRps: 50,
  bursts: 0,
  bigCustomer: null,
  attacker: null,
};

/** The scenarios `npm run sim -- --scenario NAME` runs. */
export const SCENARIOS = { default: DEFAULT_SCENARIO, sparse: SPARSE_SCENARIO } as const;

/**
 * The agreement scenario: no latency, no service time, no incidents, few identities, so the
 * simulator and the real worker in workerd see the same trace in the same order.
 */
export const AGREEMENT_SCENARIO: Scenario = {
  ...DEFAULT_SCENARIO,
  name: 'agreement',
  durationMs: 8_000,
  locations: 3,
  rtt: { medianMs: 0, p99Ms: 0, localMedianMs: 0, jitterSigma: 0 },
  isolatesPerLocation: 1,
  isolateLifetimeMs: 1e12,
  objectServiceMs: 0,
  evictEveryMs: 1e12,
  evictShare: 0,
  redisIncidents: [],
  identities: 12,
  tierWindows: {
    anonymous: [{ id: 'short', limit: 3, windowMs: 2_000, window: '2s' }],
    free: [
      { id: 'short', limit: 5, windowMs: 1_000, window: '1s' },
      { id: 'long', limit: 12, windowMs: 5_000, window: '5s' },
    ],
    pro: [{ id: 'short', limit: 8, windowMs: 2_000, window: '2s' }],
    enterprise: [{ id: 'short', limit: 20, windowMs: 3_000, window: '3s' }],
  },
  backgroundRps: 40,
  bursts: 3,
  bigCustomer: null,
  attacker: null,
  // At 0 ms no budget is reached in the simulation; in workerd on a busy test machine a 50 ms
  // budget could be, and a timeout is a failure to compare, not a decision.
  storeBudgetMs: 10_000,
  leaseWaitMs: 10_000,
  // The suite runs the worker with the timer off (its helper waits for waitUntil).
  returnTimer: false,
  quantumMs: 0,
};
