/**
 * Cold reload for the hybrid store: windows a fresh Durable Object does not find in its own
 * storage are loaded from the identity's Redis snapshot, with one GET for all of them. A request
 * waits for the load at most a budget (none by default), then the object decides from what it
 * holds: its own storage is the authority (Redis only lags it), so Redis matters only for windows
 * this object never saw, and those are merged in when the load lands. Plain code over a loader.
 */
import { withDeadline } from '../deadline';
import type { Cells } from '../limiter/algorithm';
import { log } from '../telemetry/log';

/** Reads the identity's Redis snapshot (window key -> cells); `null` when Redis has none. */
export type SnapshotLoader = () => Promise<Map<string, Cells> | null>;

/** How long a request waits for a cold reload from Redis, unless told: not at all. */
export const RELOAD_BUDGET_MS = 0;

/** Where a reload reads from, and what it tells the object. */
export interface ReloadSource {
  readonly load: SnapshotLoader;
  /** Told once per Redis command sent. */
  readonly onCommand?: () => void;
  /** Told once the load landed and its windows are merged in. */
  readonly onLoaded?: () => void;
}

/**
 * Merges a window's reloaded cells with what the object counted meanwhile. The object does not
 * send Redis its snapshot while a load is outstanding, so those counts are not in Redis yet: they
 * add up. Mutates and returns `remote`.
 */
export function mergeReloaded(remote: Cells, local: Cells | undefined): Cells {
  for (const [c, n] of local ?? []) remote.set(c, (remote.get(c) ?? 0) + n);
  return remote;
}

/** Loads windows absent from storage into `windows`; concurrent requests share one load. */
export class ColdReload {
  /** Keys not found in storage and not yet merged with the Redis snapshot. */
  private readonly unresolved = new Set<string>();
  private loaded = false;
  private loading: Promise<boolean> | undefined;

  /**
   * @param windows the object's windows, mutated
   * @param stored keys the object's own storage held when it started (never reloaded)
   */
  constructor(
    private readonly windows: Map<string, Cells>,
    private readonly stored: ReadonlySet<string>,
  ) {}

  /** True while some window may still miss counts only Redis has: Redis must not be overwritten. */
  outstanding(): boolean {
    return this.unresolved.size > 0;
  }

  /**
   * Makes sure every key of `keys` is in memory, starting the load of the Redis snapshot if one
   * of them is new to this object; waits for it at most `budgetMs` (0: not at all). Windows not
   * loaded by then start empty and the load merges in when it lands.
   */
  async reload(
    keys: readonly string[],
    source: ReloadSource,
    budgetMs = RELOAD_BUDGET_MS,
  ): Promise<void> {
    for (const key of keys) {
      if (this.windows.has(key)) continue;
      this.windows.set(key, new Map());
      if (!this.loaded && !this.stored.has(key)) this.unresolved.add(key);
    }
    if (!this.unresolved.size) return;
    const load = this.load(source);
    if (budgetMs > 0) await withDeadline(load, budgetMs, () => false);
  }

  /** Loads the snapshot once (concurrent callers share it). Resolves to whether it landed. */
  load(source: ReloadSource): Promise<boolean> {
    if (!this.unresolved.size) return Promise.resolve(true);
    if (!this.loading) {
      source.onCommand?.();
      this.loading = this.loadOnce(source).finally(() => {
        this.loading = undefined;
      });
    }
    return this.loading;
  }

  private async loadOnce(source: ReloadSource): Promise<boolean> {
    try {
      const remote = (await source.load()) ?? new Map<string, Cells>();
      for (const [key, cells] of remote) {
        if (this.stored.has(key)) continue;
        const local = this.windows.get(key);
        if (local && !this.unresolved.has(key)) continue;
        this.windows.set(key, mergeReloaded(cells, local));
      }
      this.unresolved.clear();
      this.loaded = true;
      source.onLoaded?.();
      return true;
    } catch (error) {
      log('store-error', { store: 'reload', message: String(error) }, 'error');
      return false;
    }
  }
}
