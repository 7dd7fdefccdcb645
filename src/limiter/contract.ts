/**
 * The limiter's contract: what a check asks and answers, the one interface every counter store
 * (Redis, Durable Object, memory) implements, and how a store says it failed. Knows no store and
 * no algorithm.
 */

/** One window to check: `limit` units per `windowMs` milliseconds. */
export interface WindowSpec {
  /** Stable id, unique within one check, e.g. `minute` or `search:minute`. */
  readonly id: string;
  readonly limit: number;
  readonly windowMs: number;
  /**
   * `concurrency`: not a window but at most `limit` requests in flight at once, each holding a
   * slot leased for `windowMs` (see algorithms/concurrency). Absent: a sliding window.
   */
  readonly kind?: 'concurrency';
  /**
   * `origin`: the window counts what the origin charges after the response
   * (`X-Edgelimit-Charge`), not the request's cost. A request needs one unit of room in it, and
   * consumes nothing of it up front.
   */
  readonly charge?: 'origin';
}

/** True when `spec` is a concurrency limit (slots), not a window. */
export function isConcurrency(spec: WindowSpec): boolean {
  return spec.kind === 'concurrency';
}

/** A window as a policy hands it to the limiter: its spec, how it was written, where it came from. */
export interface PolicyWindow extends WindowSpec {
  /** As written: `1m`, `5s`. */
  readonly window: string;
  /** Endpoint rule id, when the window comes from one. */
  readonly rule?: string;
  /** Evaluated and reported, never enforced. */
  readonly shadow?: boolean;
  /** What the window counts, when not requests (`tokens`); for headers, bodies and dashboards. */
  readonly unit?: string;
}

/** What the limiter needs of a policy to decide one request. */
export interface LimitPolicy {
  readonly windows: readonly PolicyWindow[];
  readonly failMode: 'open' | 'closed';
  /** `fast` decides from leased units in the isolate; absent = exact. */
  readonly consistency?: 'exact' | 'fast';
}

/** What one window looks like at a given time. */
export interface WindowState {
  readonly id: string;
  readonly limit: number;
  readonly windowMs: number;
  /** Units counted in the window, after this request if it was recorded. */
  readonly used: number;
  /** `max(0, limit - used)`. */
  readonly remaining: number;
  /** Epoch ms when a request of the checked cost would next be allowed by this window. */
  readonly retryAt: number;
  /** Epoch ms when more quota next becomes available (draft-11 `t`); `now` if nothing counted. */
  readonly resetAt: number;
  /**
   * Epoch ms when every counted unit has left the window (the whole quota is back); `now` if
   * nothing counted. Only a read of the buckets can tell (absent from stores that cannot).
   */
  readonly fullAt?: number;
}

/** A window's state from its count and instants; `remaining` never goes below 0. */
export function windowState(
  spec: WindowSpec,
  used: number,
  retryAt: number,
  resetAt: number,
): WindowState {
  return {
    id: spec.id,
    limit: spec.limit,
    windowMs: spec.windowMs,
    used,
    remaining: Math.max(0, spec.limit - used),
    retryAt,
    resetAt,
  };
}

/** The result of checking every window of one request. */
export interface CheckOutcome {
  readonly allowed: boolean;
  readonly now: number;
  readonly windows: readonly WindowState[];
}

/** One atomic check of every window that applies to one request. */
export interface CheckRequest {
  /** Identity key from `limiter/keys.ts`; all windows of one request share it. */
  readonly identity: string;
  readonly windows: readonly WindowSpec[];
  /** Units to consume; default 1. */
  readonly cost?: number;
  /**
   * `false` reads the windows without recording anything (the `rate_limit` endpoint); `force`
   * records `cost` whether or not the windows allow it (a charge after the response: debt).
   */
  readonly consume?: boolean | 'force';
  /** Pins the clock (tests and simulations); stores otherwise use their own authoritative clock. */
  readonly now?: number;
  /** Decide from a lease of units held in this isolate (policy `consistency: "fast"`). */
  readonly fast?: boolean;
  /**
   * The identity this check's `identity` is one of `count` shards of (`store/shard-store.ts`):
   * the isolate's requests to every shard are one stream, whose rate sizes the lease of the
   * shard it is on, and room is judged for the whole identity.
   */
  readonly shard?: { readonly of: string; readonly count: number };
  /**
   * The policy lets the request pass when the store fails (`failMode: "open"`): a `fast` store
   * then counts it with its next ask, so that what passed uncounted still counts.
   */
  readonly failsOpen?: boolean;
  /**
   * Token of the slot a consuming check takes in every concurrency limit, when all allow it; the
   * same token gives the slots back ({@link ReleaseRequest}). Without it, slots are only read.
   */
  readonly slotToken?: number;
}

/** Gives back the slots a request took: idempotent, unknown tokens are ignored. */
export interface ReleaseRequest {
  readonly identity: string;
  /** The request's concurrency limits. */
  readonly windows: readonly WindowSpec[];
  readonly slotToken: number;
  /** Pins the clock, as in {@link CheckRequest}. */
  readonly now?: number;
}

/** A counter store. `check` is all or nothing: a rejected request consumes no window. */
export interface CounterStore {
  /** Short name for logs, metrics and the `X-Edgelimit-Store` header. */
  readonly name: string;
  check(request: CheckRequest): Promise<CheckOutcome>;
  /** Gives back the slots of a finished request (stores without slots need not have it). */
  release?(request: ReleaseRequest): Promise<void>;
}

/** Why a store call failed; the limiter turns it into fail-open or fail-closed. */
export class StoreError extends Error {
  /**
   * The store asks that this request fail closed whatever the policy says: under `fast`, an
   * isolate that already let its allowance of requests pass uncounted while the identity's
   * object is late (`optimismBoundPerIsolate` in `store/lease-rules.ts`).
   */
  readonly failsClosed: boolean;

  constructor(
    readonly store: string,
    readonly reason: 'timeout' | 'unavailable' | 'malformed-reply' | 'script-error',
    message: string,
    options: { readonly failsClosed?: boolean } = {},
  ) {
    super(`${store} store ${reason}: ${message}`);
    this.name = 'StoreError';
    this.failsClosed = options.failsClosed ?? false;
  }
}
