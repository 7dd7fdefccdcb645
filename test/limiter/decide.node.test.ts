/** `decide`: what a store failure becomes, by policy and by what the store asks. */
import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock';
import { type CounterStore, StoreError } from '../../src/limiter/contract';
import { decide } from '../../src/limiter/decide';

const failing = (error: StoreError): CounterStore => ({
  name: 'failing',
  check: () => Promise.reject(error),
});

const windows = [{ id: 'minute', limit: 100, windowMs: 60_000, window: '1m' }];

describe('decide on a store failure', () => {
  it('fails open or closed as the policy says', async () => {
    const clock = manualClock(1_000_000);
    const store = failing(new StoreError('failing', 'timeout', 'late'));
    const open = await decide({
      store,
      identity: 'c:x',
      policy: { windows, failMode: 'open' },
      clock,
    });
    expect(open.outcome).toBe('failed-open');
    expect(open.retryAt).toBeUndefined();
    const closed = await decide({
      store,
      identity: 'c:x',
      policy: { windows, failMode: 'closed' },
      clock,
    });
    expect(closed.outcome).toBe('failed-closed');
    expect(closed.retryAt).toBe(1_001_000);
  });

  it('fails closed, with a retry a second away, when the store asks it to under a policy that fails open', async () => {
    const clock = manualClock(1_000_000);
    const store = failing(
      new StoreError('failing', 'timeout', 'allowance spent', { failsClosed: true }),
    );
    const d = await decide({
      store,
      identity: 'c:x',
      policy: { windows, failMode: 'open' },
      clock,
    });
    expect(d.outcome).toBe('failed-closed');
    expect(d.retryAt).toBe(1_001_000);
    expect(d.error?.failsClosed).toBe(true);
  });
});
