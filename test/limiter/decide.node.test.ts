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

/** One decision at 1,000,000 ms over a store that fails with `error`. */
const decideFailing = (error: StoreError, failMode: 'open' | 'closed') =>
  decide({
    store: failing(error),
    identity: 'c:x',
    policy: { windows, failMode },
    clock: manualClock(1_000_000),
  });

describe('decide on a store failure', () => {
  it('fails open or closed as the policy says', async () => {
    const late = new StoreError('failing', 'timeout', 'late');
    const open = await decideFailing(late, 'open');
    expect(open.outcome).toBe('failed-open');
    expect(open.retryAt).toBeUndefined();
    const closed = await decideFailing(late, 'closed');
    expect(closed.outcome).toBe('failed-closed');
    expect(closed.retryAt).toBe(1_001_000);
  });

  it('fails closed, with a retry a second away, when the store asks it to under a policy that fails open', async () => {
    const spent = new StoreError('failing', 'timeout', 'allowance spent', { failsClosed: true });
    const d = await decideFailing(spent, 'open');
    expect(d.outcome).toBe('failed-closed');
    expect(d.retryAt).toBe(1_001_000);
    expect(d.error?.failsClosed).toBe(true);
  });
});
