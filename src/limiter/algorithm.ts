/**
 * The algorithm seam: everything that knows *how* units are counted. Stores, layers and Durable
 * Objects keep an algorithm's state (integer cells per window key) and move it around without
 * knowing what the cells mean; `algorithms/registry.ts` lists the algorithms there are.
 */
import type { CheckOutcome, CheckRequest, ReleaseRequest, WindowSpec } from './contract';
import type { LeaseAsk, LeaseGrant } from './lease-protocol';

/**
 * The state of one window of one identity: integer cell -> integer value. In Redis it is one hash,
 * in a Durable Object one storage entry per cell. What a cell means is the algorithm's business
 * (a time bucket for the sliding window).
 */
export type Cells = Map<number, number>;

/** A change of one cell of one window (by window id), for persistence and write-behind. */
export interface CellChange {
  readonly window: string;
  readonly cell: number;
  readonly delta: number;
  /** State that lives only where it is decided (slots): never written behind to Redis. */
  readonly local?: boolean;
}

/** What an in-memory decision or lease changed, next to its answer. */
export interface Changed<T> {
  readonly result: T;
  readonly changes: readonly CellChange[];
}

/** A Lua script and its pinned SHA-1 (the registry's test recomputes every one). */
export interface PinnedScript {
  readonly name: string;
  readonly script: string;
  readonly sha1: string;
}

/** KEYS and ARGV of one script call. */
export interface ScriptCall {
  readonly keys: string[];
  readonly args: string[];
  /** The script to run, when not the algorithm's own `script` (e.g. a request with slots). */
  readonly script?: PinnedScript;
}

/** How an algorithm that holds slots gives them back: in memory, and in one Redis round trip. */
export interface SlotRelease {
  /** Removes the request's slot from every concurrency limit's cells (by spec id). */
  release(specs: readonly WindowSpec[], cells: Map<string, Cells>, token: number): Changed<number>;
  readonly script: PinnedScript;
  call(request: ReleaseRequest): ScriptCall;
}

/** One way of counting: its key layout, its in-memory decision, its Lua, its lease and copy rules. */
export interface Algorithm {
  readonly name: string;
  /** Storage key of one window of one identity; whatever changes how its cells read is in it. */
  key(identity: string, spec: WindowSpec): string;
  /**
   * Checks every window at `now` and records `cost` in each only if all allow it (all or
   * nothing). `cells` maps window id to its cells and is mutated. `consume: 'force'` records
   * whether or not they allow it (a charge after the response). `token` takes a slot in every
   * concurrency limit (algorithms without slots ignore it).
   */
  check(
    specs: readonly WindowSpec[],
    cells: Map<string, Cells>,
    now: number,
    cost: number,
    consume: boolean | 'force',
    token?: number,
  ): Changed<CheckOutcome>;
  /** Grants a `fast` lease at `now`, first settling the refund of the previous one. */
  lease(
    specs: readonly WindowSpec[],
    cells: Map<string, Cells>,
    now: number,
    ask: LeaseAsk,
  ): Changed<LeaseGrant>;
  /**
   * Drops the cells of the window stored under `key` that no longer count at `now`.
   * @returns the cells dropped (none when `key` is not one of this algorithm's).
   */
  expire(key: string, cells: Cells, now: number): number[];
  /** The script that decides one request in one Redis round trip, and its call and reply. */
  readonly script: PinnedScript;
  scriptCall(request: CheckRequest): ScriptCall;
  parseReply(reply: unknown, request: CheckRequest): CheckOutcome;
  /**
   * Epoch ms from which no cell of the window stored under `key` counts (`-Infinity` when none
   * does): how long a copy of it must be kept, and when the object may forget it.
   */
  expiresAt(key: string, cells: Cells): number;
  /**
   * A smaller copy of a window's cells for the hybrid store's Redis snapshot, which a cold object
   * decides from: it may count units longer than `cells` do, never less, at any instant.
   */
  coarsen(key: string, cells: Cells): Cells;
  /** Scripts a {@link ScriptCall} or {@link SlotRelease} may name besides `script`. */
  readonly calls?: readonly PinnedScript[];
  /** Slots held by requests in flight, for algorithms that have them. */
  readonly slots?: SlotRelease;
  /** False for a key whose state lives only in the object that decides it; default true. */
  sharedKey?(key: string): boolean;
}
