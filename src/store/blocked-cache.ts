/**
 * In-isolate L1 for rejections: once a window is known to be full until time T, further requests
 * that need it are rejected locally with the right headers, without a round trip to the store.
 * Counts only fall with time, so a window full until T stays full until T whatever else happens;
 * a changed limit or window is a different cache entry.
 */
import type { Clock } from '../clock';
import {
  type CheckOutcome,
  type CheckRequest,
  type CounterStore,
  isConcurrency,
  type WindowState,
} from '../limiter/contract';

/** Most windows remembered per isolate; the oldest are dropped first. */
const MAX_ENTRIES = 10_000;

/** A store with an L1 for blocked windows. */
export interface BlockedCacheStore extends CounterStore {
  /** Rejections answered from the L1 so far. */
  hits(): number;
  /** Windows remembered (memory-bound tests). */
  size(): number;
}

/**
 * Wraps `store`. Only consuming checks of cost 1 are answered locally; peeks always go through.
 */
export function withBlockedCache(store: CounterStore, clock: Clock): BlockedCacheStore {
  const blocked = new Map<string, WindowState>();
  let hits = 0;

  // Limit and length are in the key: a changed limit or window is a different entry.
  const cacheKey = (request: CheckRequest, id: string, limit: number, windowMs: number) =>
    `${request.identity}|${id}|${windowMs}|${limit}`;

  const release = store.release?.bind(store);
  return {
    name: store.name,
    hits: () => hits,
    ...(release ? { release } : {}),
    size: () => blocked.size,
    async check(request: CheckRequest): Promise<CheckOutcome> {
      const now = request.now ?? clock.now();
      // A charge after the response (`force`) is recorded whatever the windows say.
      const consuming = request.consume === undefined || request.consume === true;
      // Nothing remembered (the usual case for allowed traffic): no keys to build.
      if (consuming && (request.cost ?? 1) === 1 && blocked.size > 0) {
        const known = request.windows.map((w) =>
          blocked.get(cacheKey(request, w.id, w.limit, w.windowMs)),
        );
        if (known.some((s) => s !== undefined && s.retryAt > now)) {
          hits++;
          return {
            allowed: false,
            now,
            // Windows that are not blocked are reported as last seen: their remaining can only
            // have grown since, so the headers stay conservative.
            windows: request.windows.map((w, i) => {
              const state = known[i];
              if (state && state.retryAt > now) return state;
              if (state) return { ...state, retryAt: now };
              return { ...w, used: 0, remaining: w.limit, retryAt: now, resetAt: now };
            }),
          };
        }
      }
      const outcome = await store.check(request);
      if (!outcome.allowed) {
        for (const [i, state] of outcome.windows.entries()) {
          // A full concurrency limit frees whenever any request ends, not at a known time: it
          // is never remembered, or a freed slot would be refused for up to a second.
          const spec = request.windows[i];
          if (!spec || isConcurrency(spec)) continue;
          if (blocked.size >= MAX_ENTRIES) {
            const oldest = blocked.keys().next().value;
            if (oldest !== undefined) blocked.delete(oldest);
          }
          blocked.set(cacheKey(request, state.id, state.limit, state.windowMs), state);
        }
      } else if (blocked.size) {
        for (const w of request.windows)
          blocked.delete(cacheKey(request, w.id, w.limit, w.windowMs));
      }
      return outcome;
    },
  };
}
