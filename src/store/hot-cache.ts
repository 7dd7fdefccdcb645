/**
 * The decision core of the Durable Object per identity: its windows' cells in memory, decided by
 * an algorithm, and for every decision the storage writes and write-behind deltas it owes. Plain
 * code: the object is a shell around it, and tests and simulations drive it without the runtime.
 */
import type { Algorithm, CellChange, Cells } from '../limiter/algorithm';
import { DEFAULT_ALGORITHM } from '../limiter/algorithms/registry';
import type { CheckOutcome, CheckRequest, ReleaseRequest } from '../limiter/contract';
import type { LeaseAsk, LeaseGrant } from '../limiter/lease-protocol';
import { cellEntry } from './storage-layout';

/** What names a request's state: whose it is, and which windows. */
type Addressed = Pick<CheckRequest | ReleaseRequest, 'identity' | 'windows'>;

/** A change of one window's cell, addressed by its storage key, for write-behind. */
export interface KeyedDelta {
  readonly key: string;
  readonly windowMs: number;
  readonly cell: number;
  readonly delta: number;
}

/** What one decision must persist: entries to write and to delete, and deltas for Redis. */
export interface Commit {
  readonly writes: Record<string, number>;
  readonly deletes: string[];
  readonly deltas: readonly KeyedDelta[];
  /** The longest window of the request, for when to clean up. */
  readonly longestWindowMs: number;
}

/** A decision's answer and, when it changed anything, what to persist. */
export interface Decided<T> {
  readonly result: T;
  readonly commit?: Commit;
}

/** The cells of one identity's windows, and the decisions over them. */
export class HotCache {
  /** Window key -> cells. */
  readonly windows: Map<string, Cells>;
  /** Entries of cells that expired in memory and still wait to be deleted from storage. */
  private expired: string[] = [];

  constructor(
    windows: Map<string, Cells> = new Map(),
    private readonly algorithm: Algorithm = DEFAULT_ALGORITHM,
  ) {
    this.windows = windows;
  }

  /** Storage keys of a request's windows, in order. */
  keysOf(request: Addressed): string[] {
    return request.windows.map((spec) => this.algorithm.key(request.identity, spec));
  }

  /** The keys of a request that Redis also holds (what a cold start reloads); slots are not. */
  sharedKeysOf(request: Addressed): string[] {
    return this.keysOf(request).filter((key) => this.algorithm.sharedKey?.(key) ?? true);
  }

  /** Checks and records every window of one request, all or nothing. */
  check(request: CheckRequest, now: number): Decided<CheckOutcome> {
    const { keys, byId } = this.open(request, now);
    const { result, changes } = this.algorithm.check(
      request.windows,
      byId,
      now,
      request.cost ?? 1,
      request.consume ?? true,
      request.slotToken,
    );
    return changes.length
      ? { result, commit: this.commit(request, keys, byId, changes) }
      : { result };
  }

  /** Gives back the slots of a finished request; unknown tokens change nothing. */
  release(request: ReleaseRequest, now: number): Decided<number> {
    const slots = this.algorithm.slots;
    if (!slots) return { result: 0 };
    const { keys, byId } = this.open(request, now);
    const { result, changes } = slots.release(request.windows, byId, request.slotToken);
    return changes.length
      ? { result, commit: this.commit(request, keys, byId, changes) }
      : { result };
  }

  /** Grants a `fast` lease, first taking back what the previous lease left unused. */
  lease(request: CheckRequest, now: number, ask: LeaseAsk): Decided<LeaseGrant> {
    const { keys, byId } = this.open(request, now);
    const { result, changes } = this.algorithm.lease(request.windows, byId, now, ask);
    return changes.length
      ? { result, commit: this.commit(request, keys, byId, changes) }
      : { result };
  }

  /**
   * Drops every cell that no longer counts at `now` and every window left empty.
   * @returns the storage entries to delete.
   */
  sweep(now: number): string[] {
    const dead: string[] = [];
    for (const [key, cells] of this.windows) {
      for (const cell of this.algorithm.expire(key, cells, now)) dead.push(cellEntry(key, cell));
      if (cells.size === 0) this.windows.delete(key);
    }
    return dead;
  }

  /** The cells of every window of a request by window id; expired cells leave memory here. */
  private open(request: Addressed, now: number) {
    const keys = this.keysOf(request);
    const byId = new Map<string, Cells>();
    request.windows.forEach((spec, i) => {
      const key = keys[i] ?? this.algorithm.key(request.identity, spec);
      let cells = this.windows.get(key);
      if (!cells) {
        cells = new Map();
        this.windows.set(key, cells);
      }
      // Expired cells leave storage with the next commit.
      for (const cell of this.algorithm.expire(key, cells, now)) {
        this.expired.push(cellEntry(key, cell));
      }
      byId.set(spec.id, cells);
    });
    return { keys, byId };
  }

  /** The entries of every changed cell (deleted when empty), pending deletes, and the deltas. */
  private commit(
    request: Addressed,
    keys: readonly string[],
    byId: Map<string, Cells>,
    changes: readonly CellChange[],
  ): Commit {
    const writes: Record<string, number> = {};
    const deletes = this.expired;
    this.expired = [];
    const deltas: KeyedDelta[] = [];
    request.windows.forEach((spec, i) => {
      const key = keys[i] ?? this.algorithm.key(request.identity, spec);
      const cells = byId.get(spec.id);
      for (const change of changes) {
        if (change.window !== spec.id) continue;
        const count = cells?.get(change.cell) ?? 0;
        if (count > 0) writes[cellEntry(key, change.cell)] = count;
        else deletes.push(cellEntry(key, change.cell));
        // Slots live only here: Redis never decides from them, so they are not written behind.
        if (!change.local) {
          deltas.push({ key, windowMs: spec.windowMs, cell: change.cell, delta: change.delta });
        }
      }
    });
    const longestWindowMs = Math.max(...request.windows.map((w) => w.windowMs));
    return { writes, deletes, deltas, longestWindowMs };
  }
}
