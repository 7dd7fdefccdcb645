/** The bounded queue of leases by the end of their usable span. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ExpiryQueue } from '../../src/store/expiry-queue';

describe('ExpiryQueue', () => {
  it('hands out only what is due, earliest first, equal instants in the order they were added', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 60 }),
        fc.integer({ min: 0, max: 60 }),
        (dues, now) => {
          const queue = new ExpiryQueue<number>(1_000);
          for (const [i, dueAt] of dues.entries()) queue.add(dueAt, i);
          const taken = queue.takeDue(now, Number.POSITIVE_INFINITY, () => true);
          const expected = dues
            .map((dueAt, i) => ({ dueAt, i }))
            .filter((d) => d.dueAt <= now)
            .sort((a, b) => a.dueAt - b.dueAt || a.i - b.i)
            .map((d) => d.i);
          expect(taken).toEqual(expected);
          // What is not due stays, and is due later.
          expect(queue.size).toBe(dues.length - expected.length);
          if (queue.size > 0) expect(queue.nextDueAt()).toBeGreaterThan(now);
        },
      ),
    );
  });

  it('accepts at most `max` items per call; declined items leave without counting', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.boolean()), { maxLength: 40 }),
        fc.integer({ min: 0, max: 6 }),
        (items, max) => {
          const queue = new ExpiryQueue<{ id: number; wanted: boolean }>(1_000);
          for (const [id, [dueAt, wanted]] of items.entries()) queue.add(dueAt, { id, wanted });
          const offered: number[] = [];
          const taken = queue.takeDue(20, max, (item) => {
            offered.push(item.id);
            return item.wanted;
          });
          expect(taken.length).toBe(Math.min(max, items.filter(([, w]) => w).length));
          expect(taken.every((t) => t.wanted)).toBe(true);
          // Everything offered left the queue, and nothing else did.
          expect(queue.size).toBe(items.length - offered.length);
          // It stops at the `max`-th accepted item: nothing after it was offered.
          if (taken.length === max && max > 0) expect(offered.at(-1)).toBe(taken.at(-1)?.id);
        },
      ),
    );
  });

  it('never holds more than its capacity, dropping the earliest due first', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 1_000 }), { maxLength: 80 }),
        fc.integer({ min: 1, max: 10 }),
        (dues, capacity) => {
          const queue = new ExpiryQueue<number>(capacity);
          for (const dueAt of dues) {
            queue.add(dueAt, dueAt);
            expect(queue.size).toBeLessThanOrEqual(capacity);
          }
          const kept = queue.takeDue(
            Number.POSITIVE_INFINITY,
            Number.POSITIVE_INFINITY,
            () => true,
          );
          // What stays is the latest `capacity` of everything added, in order: whatever was
          // dropped was due no later than anything kept.
          const sorted = [...dues].sort((a, b) => a - b);
          expect(kept).toEqual(sorted.slice(Math.max(0, sorted.length - capacity)));
        },
      ),
    );
  });

  it('rejects a capacity that is not a positive integer, naming it', () => {
    expect(() => new ExpiryQueue(0)).toThrow(/capacity/);
    expect(() => new ExpiryQueue(1.5)).toThrow(/capacity/);
  });
});
