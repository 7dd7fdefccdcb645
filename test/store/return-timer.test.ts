import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock';
import type { WindowSpec } from '../../src/limiter/contract';
import { customerIdentity } from '../../src/limiter/keys';
import type { LimiterObject } from '../../src/objects/limiter-object';
import { createDurableObjectStore } from '../../src/store/durable-object-store';
import { durableObjectLeaser, withLeases } from '../../src/store/lease-store';
import { MAX_WAIT_MS, RETURN_GRACE_MS, returnTimer } from '../../src/store/return-timer';
import { testWorker } from '../support/app';
import { createCustomer, uniqueId } from '../support/customers';
import { PINNED_T0 } from '../support/pinned-time';

const namespace = env.LIMITER as DurableObjectNamespace<LimiterObject>;
const minute: WindowSpec[] = [{ id: 'minute', limit: 100, windowMs: 60_000 }];

/** What the object counts as used in the minute window (leased units included). */
const usedAtObject = async (identity: string, now?: number) =>
  (
    await createDurableObjectStore(namespace).check({
      identity,
      windows: minute,
      consume: false,
      ...(now === undefined ? {} : { now }),
    })
  ).windows[0]?.used ?? Number.NaN;

describe('returnTimer: a quiet isolate gives back the units it leased and left unused', () => {
  it('returns them when the lease ends, though no request follows', async () => {
    const clock = manualClock(PINNED_T0);
    const leases = withLeases(createDurableObjectStore(namespace), durableObjectLeaser(namespace), {
      clock,
      optimism: false,
    });
    const arm = returnTimer(leases, clock);
    const waits: number[] = [];
    const wait = async (ms: number) => {
      waits.push(ms);
      clock.advance(ms);
    };
    // Nothing leased yet: nothing to arm.
    expect(arm(wait)).toBeUndefined();
    const identity = `c:${uniqueId('quiet')}`;
    // Two requests: the second's lease is sized by the rate, and all but one unit of it is unused.
    for (let i = 0; i < 2; i++) {
      clock.advance(10);
      const outcome = await leases.check({
        identity,
        windows: minute,
        now: clock.now(),
        fast: true,
      });
      expect(outcome.allowed).toBe(true);
    }
    await leases.settled();
    expect(await usedAtObject(identity, clock.now())).toBeGreaterThan(2);

    const work = arm(wait);
    expect(work).toBeDefined();
    // One timer per isolate.
    expect(arm(wait)).toBeUndefined();
    await work;
    expect(await usedAtObject(identity, clock.now())).toBe(2);
    // It waited for the lease's end plus the grace, not longer than a ttl.
    expect(waits[0]).toBeGreaterThan(RETURN_GRACE_MS);
    expect(waits[0]).toBeLessThanOrEqual(MAX_WAIT_MS + RETURN_GRACE_MS);
    // Done: the next request may arm it again, and with nothing left it does not.
    expect(arm(wait)).toBeUndefined();
  });

  it('arms while the lease a request asked for is still in flight, and waits for it to land', async () => {
    const clock = manualClock(PINNED_T0);
    // A lease store whose only lease is still on its way: queued (due in 2 s) once it lands.
    let land = () => {};
    let due: number | undefined;
    let inFlight = 1;
    const landed = new Promise<void>((resolve) => {
      land = () => {
        due = clock.now() + 2_000;
        inFlight = 0;
        resolve();
      };
    });
    const returned: number[] = [];
    const arm = returnTimer(
      {
        nextReturnAt: () => due,
        renewalsInFlight: () => inFlight,
        pending: () => (inFlight > 0 ? landed : Promise.resolve()),
        returnDue: () => {
          returned.push(clock.now());
          due = undefined;
        },
      },
      clock,
    );
    const start = clock.now();
    const work = arm(async (ms) => {
      clock.advance(ms);
    });
    expect(work).toBeDefined();
    land();
    await work;
    // Given back once, at the lease's end plus the grace.
    expect(returned).toEqual([start + 2_000 + RETURN_GRACE_MS]);
  });

  /** What the object counts after three requests through one isolate, the timer on or off. */
  const afterThreeRequests = async (timer: 'true' | 'false') => {
    const worker = testWorker({ CONSISTENCY: 'fast', LEASE_RETURN_TIMER: timer });
    const customer = await createCustomer(env.CONFIG, {
      tier: 'enterprise',
      limits: [{ limit: 100, window: '1m' }],
    });
    // testWorker waits for waitUntil: a fetch returns once the timer it armed (if any) is done.
    for (let i = 0; i < 3; i++) {
      const response = await worker.fetch('/v1/quiet', { headers: customer.headers });
      expect(response.status).toBe(200);
    }
    return usedAtObject(customerIdentity(customer.customerId));
  };

  it('gives back over HTTP what one isolate leased for three requests (LEASE_RETURN_TIMER on, the default)', async () => {
    expect(await afterThreeRequests('true')).toBe(3);
  });

  it('leaves them counted with LEASE_RETURN_TIMER off (what the test above sees without the timer)', async () => {
    expect(await afterThreeRequests('false')).toBeGreaterThan(3);
  });
});
