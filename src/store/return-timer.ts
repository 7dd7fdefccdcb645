/**
 * Gives back the units an isolate leased and left unused when no next request would. The lease
 * store returns leases past their span from the start of every request (for any identity); an
 * isolate that goes quiet sees none, and its unused units stayed counted at their objects until
 * they left the window: for a small limit, a share of the quota refused early for up to a
 * window. One timer per isolate, armed by a request, fires when the earliest such lease ends.
 */
import type { Clock } from '../clock';
import type { LeaseStore } from './lease-store';

/** What the timer needs of the lease store. */
export type Returns = Pick<
  LeaseStore,
  'nextReturnAt' | 'returnDue' | 'pending' | 'renewalsInFlight'
>;

/** Resolves after `ms` (in the worker a `setTimeout` inside the request's `waitUntil`). */
export type Wait = (ms: number) => Promise<void>;

/**
 * Past a lease's span end, how long the timer leaves the isolate's next request to return it
 * instead [50 ms]: a busy isolate returns its leases itself, and the timer then finds nothing.
 */
export const RETURN_GRACE_MS = 50;

/** Times one armed timer waits and returns before a request must arm it again [4]. */
export const MAX_ROUNDS = 4;

/**
 * Longest one wait [3,000 ms]: most leases end within their ttl (2 s). A longer one (8 s, for a
 * window with at least `ROOMY_ROOM` left, where unused units matter little) is waited for only
 * once a later request finds it within reach.
 */
export const MAX_WAIT_MS = 3_000;

/**
 * `arm(wait)`, called by a request after its decision: unless this isolate's timer is armed or
 * neither a lease ending within `MAX_WAIT_MS` nor a renewal in flight is there, arms it and
 * returns its work for the request's `waitUntil`: let the renewals in flight land (the lease a
 * request asked for is queued then), wait for the earliest lease's end (plus the grace), give
 * back what is due, let those asks land, and again for the next lease, at most `MAX_ROUNDS`
 * times. Bounded, so a quiet isolate's `waitUntil` ends within about `MAX_ROUNDS * MAX_WAIT_MS`.
 * @example const arm = returnTimer(leases, clock); const work = arm(sleep); if (work) ctx.waitUntil(work);
 */
export function returnTimer(
  returns: Returns,
  clock: Clock,
): (wait: Wait) => Promise<void> | undefined {
  let armed = false;
  const delayOf = (): number | undefined => {
    const due = returns.nextReturnAt();
    if (due === undefined) return undefined;
    const delay = Math.max(0, due - clock.now());
    return delay <= MAX_WAIT_MS ? delay + RETURN_GRACE_MS : undefined;
  };
  return (wait) => {
    if (armed) return undefined;
    // A lease the request asked for is queued only once it lands: a renewal in flight arms too.
    if (delayOf() === undefined && returns.renewalsInFlight() === 0) return undefined;
    armed = true;
    const run = async (): Promise<void> => {
      try {
        await returns.pending();
        for (let round = 0; round < MAX_ROUNDS; round++) {
          const delay = delayOf();
          if (delay === undefined) break;
          await wait(delay);
          returns.returnDue();
          await returns.pending();
        }
      } finally {
        armed = false;
      }
    };
    return run();
  };
}
