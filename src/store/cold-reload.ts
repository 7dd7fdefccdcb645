/**
 * Cold reload for the hybrid store: windows a fresh Durable Object has never seen are loaded from
 * Redis once, within a budget, before anyone decides from them. Plain code over a loader.
 */
import { withDeadline } from '../deadline';
import type { Cells } from '../limiter/algorithm';
import { log } from '../telemetry/log';

/** Reads one window's hash (`HGETALL`); `null` when Redis has none. */
export type HashLoader = (key: string) => Promise<Record<string, string | number> | null>;

/** How long a cold reload may take before requests go on without it. */
export const RELOAD_BUDGET_MS = 200;

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

/** Loads cold windows into `windows`; concurrent requests for one window share one load. */
export class ColdReload {
  private readonly loads = new Map<string, Promise<void>>();

  constructor(
    private readonly windows: Map<string, Cells>,
    private readonly budgetMs = RELOAD_BUDGET_MS,
  ) {}

  /**
   * Loads every key of `keys` not in memory yet, waiting at most the budget; windows still not
   * loaded then start empty (a late load merges in, keeping the larger count per cell).
   * @param onCommand - told once per Redis command sent.
   */
  async reload(keys: readonly string[], load: HashLoader, onCommand?: () => void): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const key of keys) {
      if (this.windows.has(key)) continue;
      // Requests arriving while a window loads wait for the same load: one HGETALL per window,
      // and nobody decides from a window that is about to be filled in.
      let pending = this.loads.get(key);
      if (!pending) {
        onCommand?.();
        pending = this.loadOne(key, load).finally(() => this.loads.delete(key));
        this.loads.set(key, pending);
      }
      waits.push(pending);
    }
    if (!waits.length) return;
    await withDeadline(Promise.all(waits), this.budgetMs, () => undefined);
    for (const key of keys) if (!this.windows.has(key)) this.windows.set(key, new Map());
  }

  private async loadOne(key: string, load: HashLoader): Promise<void> {
    try {
      const cells = cellsFromHash(await load(key));
      // If the load outlived its budget, requests went on with an empty window meanwhile; keep
      // the larger count per cell rather than dropping theirs.
      const existing = this.windows.get(key);
      if (existing) for (const [c, n] of existing) cells.set(c, Math.max(n, cells.get(c) ?? 0));
      this.windows.set(key, cells);
    } catch (error) {
      log('store-error', { store: 'reload', message: String(error) }, 'error');
    }
  }
}
