/**
 * Which path of the `fast` lease store decided a request, told to an observer the simulation
 * installs (`npm run sim`'s table of wrong decisions by cause). Nothing in the worker installs
 * one: a note is then one call that finds no observer, and decisions never depend on it.
 */
import type { CheckRequest } from '../limiter/contract';

/**
 * A step of the lease store for one request: the path that decided it, or `wait` (it waited for
 * a renewal; another note follows unless the wait failed).
 */
export type DecisionPath =
  /** A unit of a lease held here. */
  | 'lease'
  /** Optimism with no answer of the object yet (`firstContactAllowance`). */
  | 'first-contact'
  /** Optimism within the room a fresh answer showed (`optimismAllowance`). */
  | 'fresh-answer'
  /** Optimism within a stale answer's room (`staleAllowance`). */
  | 'stale-answer'
  /** Rejected at once: a recent refusal holds (`refusalHolds`). */
  | 'refusal-held'
  /** Rejected at once: a refusal that no longer holds (past its retry time or its freshness), a renewal already on its way. */
  | 'refusal-in-flight'
  /** Rejected at once: the lease held here frees its units later (`LeaseGrant.fromMs`). */
  | 'lease-pending'
  /** Rejected by the refusal a renewal brought (after waiting for it). */
  | 'refusal-answer'
  /** Failed closed: the wait ran out, and this isolate's fail-open allowance is spent. */
  | 'fail-open-spent'
  /** Failed at once: the last renewal failed (`failing`). */
  | 'failing'
  /** Rejected while the object fails: what this isolate let pass fills a window (`failedOpenRefusal`). */
  | 'failing-refused'
  /** Waited for a renewal (a later note says what came of it; none if the wait failed). */
  | 'wait'
  /** Not decided from leases: the exact path below (concurrency, origin charge, cost, not fast). */
  | 'exact';

/** Told each step; the request is the object the lease store was called with. */
export type PathObserver = (request: CheckRequest, path: DecisionPath) => void;

let observer: PathObserver | undefined;
// A request a layer above the lease store made from another (a shard's): its notes are the other's.
const origins = new WeakMap<CheckRequest, CheckRequest>();

/** Installs `next` (or none) and returns the observer it replaces. */
export function setPathObserver(next: PathObserver | undefined): PathObserver | undefined {
  const previous = observer;
  observer = next;
  return previous;
}

/** Tells the observer, if any, that `path` decided (or delayed) `request`. */
export function notePath(request: CheckRequest, path: DecisionPath): void {
  if (observer) observer(origins.get(request) ?? request, path);
}

/**
 * Returns `derived`, a request made from `request` for the store below (a shard's part), whose
 * notes the observer then gets as `request`'s. Without an observer nothing is kept.
 */
export function derivedRequest(derived: CheckRequest, request: CheckRequest): CheckRequest {
  if (observer) origins.set(derived, origins.get(request) ?? request);
  return derived;
}
