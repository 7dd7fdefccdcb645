/**
 * The decision core of the Durable Object per identity: its windows' cells in memory, decided by
 * an algorithm, and for every decision the cells it changed (what the object owes its storage and
 * Redis). Plain code: the object is a shell around it, and tests and simulations drive it without
 * the runtime.
 */
import type { Algorithm, CellChange, Cells } from '../limiter/algorithm';
import { DEFAULT_ALGORITHM } from '../limiter/algorithms/registry';
import type { CheckOutcome, CheckRequest, ReleaseRequest } from '../limiter/contract';
import type { LeaseAsk, LeaseGrant } from '../limiter/lease-protocol';

/** What names a request's state: whose it is, and which windows. */
type Addressed = Pick<CheckRequest | ReleaseRequest, 'identity' | 'windows'>;

/** A change of one window's cell, addressed by its storage key. */
export interface KeyedDelta {
  readonly key: string;
  /** The limit of the window (what an unsaved count is measured against). */
  readonly limit: number;
  readonly cell: number;
  readonly delta: number;
  /** State that lives only in the object (slots): never copied to Redis. */
  readonly local?: boolean;
}

/** What one decision changed: the cells, by key. */
export interface Commit {
  readonly deltas: readonly KeyedDelta[];
}

/** A decision's answer and, when it changed anything, what changed. */
export interface Decided<T> {
  readonly result: T;
  readonly commit?: Commit;
}

/** The cells of one identity's windows, and the decisions over them. */
export class HotCache {
  /** Window key -> cells. */
  readonly windows: Map<string, Cells>;

  constructor(
    windows: Map<string, Cells> = new Map(),
    readonly algorithm: Algorithm = DEFAULT_ALGORITHM,
  ) {
    this.windows = windows;
  }

  /** Storage keys of a request's windows, in order. */
  keysOf(request: Addressed): string[] {
    return request.windows.map((spec) => this.algorithm.key(request.identity, spec));
  }

  /** Whether Redis also holds the state of `key` (slots are the object's alone). */
  isShared(key: string): boolean {
    return this.algorithm.sharedKey?.(key) ?? true;
  }

  /** The keys of a request that Redis also holds (what a cold start reloads). */
  sharedKeysOf(request: Addressed): string[] {
    return this.keysOf(request).filter((key) => this.isShared(key));
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
    return changes.length ? { result, commit: this.commit(request, keys, changes) } : { result };
  }

  /** Gives back the slots of a finished request; unknown tokens change nothing. */
  release(request: ReleaseRequest, now: number): Decided<number> {
    const slots = this.algorithm.slots;
    if (!slots) return { result: 0 };
    const { keys, byId } = this.open(request, now);
    const { result, changes } = slots.release(request.windows, byId, request.slotToken);
    return changes.length ? { result, commit: this.commit(request, keys, changes) } : { result };
  }

  /** Grants a `fast` lease, first taking back what the previous lease left unused. */
  lease(request: CheckRequest, now: number, ask: LeaseAsk): Decided<LeaseGrant> {
    const { keys, byId } = this.open(request, now);
    const { result, changes } = this.algorithm.lease(request.windows, byId, now, ask);
    return changes.length ? { result, commit: this.commit(request, keys, changes) } : { result };
  }

  /**
   * Drops every cell that no longer counts at `now` and every window in which nothing counts: left
   * empty, or holding only cells of 0 (a lease given back unused). Kept, such a window read as
   * "nothing held" to the save plan but as "something held" to the alarm, which then set itself
   * due at once, again and again, until the cell left its window (an alarm storm).
   */
  sweep(now: number): void {
    for (const [key, cells] of this.windows) {
      this.algorithm.expire(key, cells, now);
      if (cells.size === 0 || this.algorithm.expiresAt(key, cells) === Number.NEGATIVE_INFINITY) {
        this.windows.delete(key);
      }
    }
  }

  /** Epoch ms from which nothing the cache holds counts any more (`-Infinity`: nothing held). */
  expiresAt(): number {
    let latest = Number.NEGATIVE_INFINITY;
    for (const [key, cells] of this.windows) {
      latest = Math.max(latest, this.algorithm.expiresAt(key, cells));
    }
    return latest;
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
      this.algorithm.expire(key, cells, now);
      byId.set(spec.id, cells);
    });
    return { keys, byId };
  }

  /** The changes of a decision, addressed by storage key. */
  private commit(request: Addressed, keys: readonly string[], changes: readonly CellChange[]) {
    const deltas: KeyedDelta[] = [];
    request.windows.forEach((spec, i) => {
      const key = keys[i] ?? this.algorithm.key(request.identity, spec);
      for (const change of changes) {
        if (change.window !== spec.id) continue;
        deltas.push({
          key,
          limit: spec.limit,
          cell: change.cell,
          delta: change.delta,
          ...(change.local ? { local: true } : {}),
        });
      }
    });
    return { deltas };
  }
}
