/**
 * Cold reload for the hybrid store: windows a fresh Durable Object has never seen are loaded from
 * Redis once. A request waits for the load at most a budget (none by default), then the object
 * decides from what it holds: its own storage is the authority (Redis only lags it), so Redis
 * matters only for counts this object never saw, and those are merged in when the load lands.
 * Plain code over a loader.
 */
import { withDeadline } from '../deadline';
import type { Cells } from '../limiter/algorithm';
import { log } from '../telemetry/log';

/** Reads one window's hash (`HGETALL`); `null` when Redis has none. */
export type HashLoader = (key: string) => Promise<Record<string, string | number> | null>;

/** How long a request waits for a cold reload from Redis, unless told: not at all. */
export const RELOAD_BUDGET_MS = 0;

/** Where a reload reads from, and what it tells the object. */
export interface ReloadSource {
  readonly load: HashLoader;
  /** Write-behind batches sent so far: tells a reload whether Redis may hold our own counts. */
  readonly flushes: () => number;
  /** Told once per Redis command sent. */
  readonly onCommand?: () => void;
  /** Told the merged cells of a window once its load landed, to persist them. */
  readonly onLoaded?: (key: string, cells: Cells) => void;
}

/** Cells from a Redis hash: integer fields with positive integer counts; anything else is dropped. */
export function cellsFromHash(hash: Record<string, string | number> | null): Cells {
  const cells: Cells = new Map();
  for (const [field, count] of Object.entries(hash ?? {})) {
    const cell = Number(field);
    const n = Number(count);
    if (Number.isSafeInteger(cell) && Number.isSafeInteger(n) && n > 0) cells.set(cell, n);
  }
  return cells;
}

/**
 * Merges a window's reloaded cells with what the object counted meanwhile: those counts are not
 * in Redis yet unless a flush ran meanwhile, so they add up; after a flush Redis may already hold
 * them, so the larger count per cell is kept instead. Mutates and returns `remote`.
 */
export function mergeReloaded(remote: Cells, local: Cells | undefined, flushed: boolean): Cells {
  for (const [c, n] of local ?? []) {
    const r = remote.get(c) ?? 0;
    remote.set(c, flushed ? Math.max(n, r) : n + r);
  }
  return remote;
}

/** Loads cold windows into `windows`; concurrent requests for one window share one load. */
export class ColdReload {
  private readonly loads = new Map<string, Promise<void>>();

  constructor(private readonly windows: Map<string, Cells>) {}

  /**
   * Loads every key of `keys` not in memory yet, waiting at most `budgetMs` (0: not at all);
   * windows still not loaded then start empty and the load merges in when it lands.
   */
  async reload(
    keys: readonly string[],
    source: ReloadSource,
    budgetMs = RELOAD_BUDGET_MS,
  ): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const key of keys) {
      if (this.windows.has(key)) continue;
      // Requests arriving while a window loads share the same load: one HGETALL per window.
      let pending = this.loads.get(key);
      if (!pending) {
        source.onCommand?.();
        pending = this.loadOne(key, source).finally(() => this.loads.delete(key));
        this.loads.set(key, pending);
      }
      waits.push(pending);
    }
    if (!waits.length) return;
    if (budgetMs > 0) await withDeadline(Promise.all(waits), budgetMs, () => undefined);
    for (const key of keys) if (!this.windows.has(key)) this.windows.set(key, new Map());
  }

  private async loadOne(key: string, source: ReloadSource): Promise<void> {
    const flushesBefore = source.flushes();
    try {
      const remote = cellsFromHash(await source.load(key));
      const flushed = source.flushes() !== flushesBefore;
      const cells = mergeReloaded(remote, this.windows.get(key), flushed);
      this.windows.set(key, cells);
      source.onLoaded?.(key, cells);
    } catch (error) {
      log('store-error', { store: 'reload', message: String(error) }, 'error');
    }
  }
}
