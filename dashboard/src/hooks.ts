/** Preact hooks: polling an API while the page is visible, and a ticking clock for countdowns. */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

/** How often the views refresh themselves while visible. */
export const REFRESH_MS = 5000;

/** What a polled resource looks like to a view. */
export interface Polled<T> {
  /** The last good value; kept while a refresh is in flight or after a failed refresh. */
  readonly data: T | undefined;
  readonly error: Error | undefined;
  /** True until the first answer (good or bad) for the current inputs arrives. */
  readonly loading: boolean;
  /** When `data` last arrived, in ms since the epoch. */
  readonly updatedAt: number | undefined;
  /** Fetches now, outside the schedule. */
  refresh(): void;
}

/**
 * Calls `load` now, whenever `key` changes, and every `intervalMs` while the tab is visible.
 * Answers to superseded calls are dropped, so a slow old request never overwrites a newer one.
 */
export function usePolling<T>(
  load: () => Promise<T>,
  key: string,
  intervalMs: number,
  enabled = true,
): Polled<T> {
  const [state, setState] = useState<{
    data?: T;
    error?: Error;
    loading: boolean;
    updatedAt?: number;
    key: string;
  }>({ loading: true, key });
  const loadRef = useRef(load);
  loadRef.current = load;
  const generation = useRef(0);

  const run = useCallback(() => {
    const mine = ++generation.current;
    loadRef.current().then(
      (data) => {
        if (mine !== generation.current) return;
        setState({ data, loading: false, updatedAt: Date.now(), key });
      },
      (error: unknown) => {
        if (mine !== generation.current) return;
        const err = error instanceof Error ? error : new Error(String(error));
        setState((prev) => ({ ...prev, error: err, loading: false, key }));
      },
    );
  }, [key]);

  useEffect(() => {
    if (!enabled) return;
    // New inputs: drop the old data so a different range never shows under the new label.
    setState((prev) => (prev.key === key ? prev : { loading: true, key }));
    run();
    const timer = window.setInterval(() => {
      if (document.visibilityState === 'visible') run();
    }, intervalMs);
    const onVisible = () => {
      if (document.visibilityState === 'visible') run();
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      window.clearInterval(timer);
      document.removeEventListener('visibilitychange', onVisible);
      generation.current++;
    };
  }, [run, intervalMs, enabled, key]);

  const current: typeof state = state.key === key ? state : { loading: true, key };
  return {
    data: current.data,
    error: current.error,
    loading: current.loading,
    updatedAt: current.updatedAt,
    refresh: run,
  };
}

/** The current time, re-rendered every `everyMs` (for countdowns and "updated 3 s ago"). */
export function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), everyMs);
    return () => window.clearInterval(timer);
  }, [everyMs]);
  return now;
}
