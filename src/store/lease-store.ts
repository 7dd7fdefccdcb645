/**
 * The `fast` consistency mode: an isolate decides locally from a short lease of units granted by
 * the identity's Durable Object, and only calls the object when its lease runs out or expires.
 *
 * Bound on overshoot: zero against the exact sliding log. The object records leased units at the
 * lease's end (`at`), and the isolate stops using a lease at `sentAt + ttlMs`, which is no later
 * than `at` because the grant happened after `sentAt`. Every unit is therefore counted from an
 * instant at or after its real use, for a full window. What `fast` gives up is the other side:
 * units leased but unused stay counted until the next lease returns them (or, if the isolate goes
 * away, until they expire), so near the limit it can reject slightly early. Used units are moved
 * back to the last instant they can have been used when the next lease is asked for.
 */
import type { Clock } from '../clock';
import { BoundedMap } from '../limiter/bounded-map';
import {
  type CheckOutcome,
  type CheckRequest,
  type CounterStore,
  StoreError,
} from '../limiter/contract';
import { withBudget } from '../limiter/decide';
import type { LeaseAsk, LeaseGrant, LeaseRefund } from '../limiter/lease-protocol';
import type { LimiterCallOptions, LimiterNamespace } from './durable-object-store';

/** How long a lease may be used [1000 ms] and the most units one lease may carry [64]. */
export interface LeaseOptions {
  readonly clock: Clock;
  readonly ttlMs?: number;
  readonly maxUnits?: number;
  /** Most identities whose lease and ask size are remembered [10,000]. */
  readonly maxKeys?: number;
}

/** A store deciding `fast` requests from leases. */
export interface LeaseStore extends CounterStore {
  /** Identities with a lease or a remembered ask size in this isolate (memory-bound tests). */
  trackedIdentities(): number;
}

/** Default bound of the lease maps. */
export const MAX_LEASE_KEYS = 10_000;

/** Asks the object for a lease; the Durable Object in production, anything alike in tests. */
export type Leaser = (request: CheckRequest, ask: LeaseAsk) => Promise<LeaseGrant>;

interface Lease {
  units: number;
  used: number;
  /** When the last unit was used, on this isolate's clock. */
  lastUseAt: number;
  readonly sentAt: number;
  readonly size: number;
  readonly usableUntil: number;
  readonly at: number;
  readonly outcome: CheckOutcome;
}

/** A leaser that calls the identity's Durable Object. */
export function durableObjectLeaser(
  namespace: LimiterNamespace,
  callOptions: LimiterCallOptions = {},
  budgetMs = 50,
): Leaser {
  return async (request, ask) => {
    const stub = namespace.get(namespace.idFromName(request.identity));
    try {
      return await withBudget(stub.lease(request, ask, callOptions), budgetMs, 'durable-object');
    } catch (error) {
      if (error instanceof StoreError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new StoreError('durable-object', 'unavailable', message);
    }
  };
}

/**
 * Wraps `store`: requests with `fast: true` are decided from a lease, everything else goes to
 * `store` unchanged. Lease sizes adapt: a lease used up before it expires doubles the next ask,
 * one that expires half unused halves it.
 */
export function withLeases(store: CounterStore, leaser: Leaser, options: LeaseOptions): LeaseStore {
  const ttlMs = options.ttlMs ?? 1_000;
  const maxUnits = options.maxUnits ?? 64;
  // Keyed by identity: bounded, so attacker-chosen identities cannot grow the isolate. A lease
  // dropped from the bound is simply not refunded (its units expire with the window).
  const leases = new BoundedMap<string, Lease>(options.maxKeys ?? MAX_LEASE_KEYS);
  const asks = new BoundedMap<string, number>(options.maxKeys ?? MAX_LEASE_KEYS);
  const inflight = new Map<string, Promise<CheckOutcome>>();

  const keyOf = (r: CheckRequest) =>
    `${r.identity}|${r.windows.map((w) => `${w.id}:${w.limit}:${w.windowMs}`).join(',')}`;

  const fromLease = (lease: Lease, now: number): CheckOutcome => {
    lease.units--;
    lease.used++;
    lease.lastUseAt = now;
    return {
      allowed: true,
      now,
      // Units still held by this isolate are as good as remaining for this caller.
      windows: lease.outcome.windows.map((w) => ({
        ...w,
        remaining: Math.min(w.limit, w.remaining + lease.units),
      })),
    };
  };

  async function renew(request: CheckRequest, key: string): Promise<CheckOutcome> {
    const previous = leases.get(key);
    const lastAsk = asks.get(key) ?? 4;
    let nextAsk = lastAsk;
    if (previous) {
      if (previous.units === 0) nextAsk = Math.min(maxUnits, lastAsk * 2);
      else if (previous.used < previous.size / 2) nextAsk = Math.max(1, Math.floor(lastAsk / 2));
    }
    asks.set(key, nextAsk);
    const sentAt = options.clock.now();
    const refund: LeaseRefund | undefined = previous
      ? {
          units: previous.units,
          at: previous.at,
          used: previous.used,
          usedWithinMs: previous.lastUseAt - previous.sentAt,
          ttlMs,
        }
      : undefined;
    leases.delete(key);
    const grant = await leaser(request, { units: nextAsk, ttlMs, ...(refund ? { refund } : {}) });
    if (grant.granted === 0) return grant.outcome;
    const lease: Lease = {
      units: grant.granted,
      used: 0,
      lastUseAt: sentAt,
      sentAt,
      size: grant.granted,
      usableUntil: sentAt + ttlMs,
      at: grant.at,
      outcome: grant.outcome,
    };
    leases.set(key, lease);
    return fromLease(lease, options.clock.now());
  }

  return {
    name: store.name,
    trackedIdentities: () => Math.max(leases.size, asks.size),
    async check(request: CheckRequest): Promise<CheckOutcome> {
      if (!request.fast || request.consume === false || (request.cost ?? 1) !== 1) {
        return store.check(request);
      }
      const key = keyOf(request);
      for (;;) {
        const now = options.clock.now();
        const lease = leases.get(key);
        if (lease && lease.units > 0 && now < lease.usableUntil) return fromLease(lease, now);
        const pending = inflight.get(key);
        if (pending) {
          // At most one renewal per identity in this isolate: two in flight would each replace
          // the other's lease, and the replaced units would never be returned. Wait for it and
          // share its answer: a refusal (no quota) or a failure holds for us too; a new lease
          // is taken from on the next turn of the loop.
          const shared = await pending;
          if (!shared.allowed) return shared;
          continue;
        }
        const renewal = renew(request, key);
        inflight.set(key, renewal);
        try {
          return await renewal;
        } finally {
          if (inflight.get(key) === renewal) inflight.delete(key);
        }
      }
    },
  };
}
