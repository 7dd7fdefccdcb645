/** The one contract every counter store (Redis, Durable Object, memory) implements. */
import type { CheckOutcome, WindowSpec } from '../limiter/sliding-window';

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
