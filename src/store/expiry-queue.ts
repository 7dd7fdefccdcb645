/**
 * A bounded queue of items ordered by the instant they fall due (pure apart from its own state):
 * the lease store keeps one of the leases that may expire with unused units, so that a request
 * for any identity can return a few of them (see `lease-store.ts`).
 */

/** Default bound of an {@link ExpiryQueue} [1,024]. */
export const MAX_QUEUED = 1_024;

/**
 * Items ordered by when they fall due (`dueAt`), earliest first; items due at the same instant
 * keep the order they were added in. Holds at most `capacity` items: adding past it drops the
 * earliest, which has waited longest (a lease held unused for that long has been counted at its
 * object the longest: what is dropped is only a refund not sent, never a unit not counted).
 * @example
 * const q = new ExpiryQueue<string>(2);
 * q.add(20, 'b'); q.add(10, 'a');
 * q.takeDue(15, 4, () => true); // ['a']
 */
export class ExpiryQueue<T> {
  private readonly items: { readonly dueAt: number; readonly value: T }[] = [];

  constructor(readonly capacity = MAX_QUEUED) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    }
  }

  /** Items queued. */
  get size(): number {
    return this.items.length;
  }

  /** When the earliest item falls due (`undefined`: none queued). */
  nextDueAt(): number | undefined {
    return this.items[0]?.dueAt;
  }

  /** Queues `value`, due at `dueAt`, after every item due at or before that instant. */
  add(dueAt: number, value: T): void {
    // Binary search for the first item due later: equal instants keep their arrival order.
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.items[mid]?.dueAt ?? Number.POSITIVE_INFINITY) <= dueAt) lo = mid + 1;
      else hi = mid;
    }
    this.items.splice(lo, 0, { dueAt, value });
    if (this.items.length > this.capacity) this.items.splice(0, this.items.length - this.capacity);
  }

  /**
   * Removes items due at or before `now`, earliest first, handing each to `accept`, until `max`
   * of them were accepted or none is due. An item `accept` declines (`false`: nothing left to
   * do for it) is removed too, without counting against `max`.
   * @returns the accepted items, in order.
   */
  takeDue(now: number, max: number, accept: (value: T) => boolean): T[] {
    const taken: T[] = [];
    let removed = 0;
    while (taken.length < max && removed < this.items.length) {
      const item = this.items[removed];
      if (!item || item.dueAt > now) break;
      removed++;
      if (accept(item.value)) taken.push(item.value);
    }
    if (removed > 0) this.items.splice(0, removed);
    return taken;
  }
}
