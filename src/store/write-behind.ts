/**
 * Write-behind batching for the hybrid store: deltas per window key and cell, flushed to Redis
 * in one call of the algorithm's merge script when enough units piled up or enough time passed
 * (pure bookkeeping, the same for every algorithm).
 */
import type { PendingDeltas } from '../limiter/algorithm';
import { log } from '../telemetry/log';

/** Flush when this many units are pending... */
export const FLUSH_UNITS = 100;
/** ...or this long after the first pending unit, whichever comes first. */
export const FLUSH_INTERVAL_MS = 2_000;

/** Pending deltas: window key -> { window length, cell -> units }; merged by the algorithm's rule. */
export type Pending = PendingDeltas;

/** Adds `units` to `cell` of `key`. Returns the total pending units. */
export function addDelta(
  pending: Pending,
  key: string,
  windowMs: number,
  cell: number,
  units: number,
): number {
  let entry = pending.get(key);
  if (!entry) {
    entry = { windowMs, deltas: new Map() };
    pending.set(key, entry);
  }
  entry.deltas.set(cell, (entry.deltas.get(cell) ?? 0) + units);
  return pendingUnits(pending);
}

/** Total units waiting to be written. */
export function pendingUnits(pending: Pending): number {
  let total = 0;
  for (const { deltas } of pending.values()) for (const n of deltas.values()) total += n;
  return total;
}

/** Serializable form, kept in Durable Object storage so a restart still flushes. */
export type StoredPending = [key: string, windowMs: number, deltas: [number, number][]][];

export function toStored(pending: Pending): StoredPending {
  return [...pending].map(([key, { windowMs, deltas }]) => [key, windowMs, [...deltas]]);
}

export function fromStored(stored: StoredPending | undefined): Pending {
  return new Map(
    (stored ?? []).map(([key, windowMs, deltas]) => [key, { windowMs, deltas: new Map(deltas) }]),
  );
}

/** Sends one merge call to Redis (the algorithm's merge script, by SHA). */
export type MergeSender = (keys: string[], args: string[]) => Promise<unknown>;

/**
 * The pending deltas of one Durable Object and their flushing: one batch in flight at a time; a
 * failed batch goes back with whatever arrived meanwhile, for the next alarm to retry.
 */
export class WriteBehind {
  pending: Pending;
  /** Batches merged into Redis so far (a cold reload compares it before and after). */
  flushes = 0;
  private flushing: Promise<void> | undefined;

  constructor(stored?: StoredPending) {
    this.pending = fromStored(stored);
  }

  /** Queues a delta. Returns the total pending units. */
  add(key: string, windowMs: number, cell: number, units: number): number {
    return addDelta(this.pending, key, windowMs, cell, units);
  }

  /** The pending deltas in their stored form. */
  stored(): StoredPending {
    return toStored(this.pending);
  }

  /** Total units waiting to be written. */
  units(): number {
    return pendingUnits(this.pending);
  }

  /**
   * Sends what is pending now in one call; what arrives meanwhile waits for the next flush.
   * `persist` is told the pending deltas left after the attempt, success or not.
   */
  async flush(
    merge: { call: (pending: Pending) => { keys: string[]; args: string[] }; send: MergeSender },
    persist: (stored: StoredPending) => Promise<void>,
    onFailure?: (error: unknown) => Promise<void>,
  ): Promise<void> {
    if (!this.pending.size) return;
    if (this.flushing) return this.flushing;
    const sent = this.sendBatch(merge, persist, onFailure);
    this.flushing = sent;
    await sent;
    this.flushing = undefined;
  }

  private async sendBatch(
    merge: { call: (pending: Pending) => { keys: string[]; args: string[] }; send: MergeSender },
    persist: (stored: StoredPending) => Promise<void>,
    onFailure?: (error: unknown) => Promise<void>,
  ): Promise<void> {
    const batch = this.pending;
    this.pending = new Map();
    const { keys, args } = merge.call(batch);
    try {
      await merge.send(keys, args);
      this.flushes++;
      await persist(toStored(this.pending));
    } catch (error) {
      // Put the batch back together with anything added meanwhile; the next alarm retries.
      for (const [key, { windowMs, deltas }] of batch) {
        for (const [cell, units] of deltas) addDelta(this.pending, key, windowMs, cell, units);
      }
      await persist(toStored(this.pending));
      log('store-error', { store: 'write-behind', message: String(error) }, 'error');
      await onFailure?.(error);
    }
  }
}
