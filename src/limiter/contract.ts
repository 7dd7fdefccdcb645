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
}

/** A window as a policy hands it to the limiter: its spec, how it was written, where it came from. */
export interface PolicyWindow extends WindowSpec {
  /** As written: `1m`, `5s`. */
  readonly window: string;
  /** Endpoint rule id, when the window comes from one. */
  readonly rule?: string;
  /** Evaluated and reported, never enforced. */
  readonly shadow?: boolean;
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
  /** `false` reads the windows without recording anything (the `rate_limit` endpoint). */
  readonly consume?: boolean;
  /** Pins the clock (tests and simulations); stores otherwise use their own authoritative clock. */
  readonly now?: number;
  /** Decide from a lease of units held in this isolate (policy `consistency: "fast"`). */
  readonly fast?: boolean;
}

/** A counter store. `check` is all or nothing: a rejected request consumes no window. */
export interface CounterStore {
  /** Short name for logs, metrics and the `X-Edgelimit-Store` header. */
  readonly name: string;
  check(request: CheckRequest): Promise<CheckOutcome>;
}

/** Why a store call failed; the limiter turns it into fail-open or fail-closed. */
export class StoreError extends Error {
  constructor(
    readonly store: string,
    readonly reason: 'timeout' | 'unavailable' | 'malformed-reply' | 'script-error',
    message: string,
  ) {
    super(`${store} store ${reason}: ${message}`);
    this.name = 'StoreError';
  }
}
