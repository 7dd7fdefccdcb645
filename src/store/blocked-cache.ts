/**
 * In-isolate L1 for rejections: once a window is known to be full until time T, further requests
 * that need it are rejected locally with the right headers, without a round trip to the store.
 * On the exact path counts only fall with time, so a window full until T stays full until T
 * whatever else happens. Under leases (`fast` requests) they also fall when other isolates give
 * back units they leased and did not use, so such a refusal is held at most `FAST_HOLD_MS`; past
 * it the request goes on to the lease store, which still rejects at once from the refusal it
 * holds and asks the object again in the background. A changed limit or window is a different
 * cache entry.
 */
import type { Clock } from '../clock';
import {
  type CheckOutcome,
  type CheckRequest,
  type CounterStore,
  isConcurrency,
  type WindowState,
} from '../limiter/contract';

/**
 * Longest a `fast` request's refusal is answered here [1 s]. Measured (`npm run sim -- --modes
 * fast`, seeds 1-8): wrong decisions a mean of 0.526% -> 0.520%, all of it seed 3 (hot pro
 * identities at their limit: 0.8163% -> 0.7588%), the others within 0.003 points; 0.0025 more
 * object requests per request. At 250 ms the boundary attacker's contested units cost more
 * (seed 1: 0.3871% -> 0.3972%).
 */
export const FAST_HOLD_MS = 1_000;

/** Most windows remembered per isolate; the oldest are dropped first. */
const MAX_ENTRIES = 10_000;

/** A remembered refusal of one window, and until when a `fast` request may be answered from it. */
interface Held {
  readonly state: WindowState;
  readonly heldUntil: number;
}

/** A store with an L1 for blocked windows. */
export interface BlockedCacheStore extends CounterStore {
  /** Rejections answered from the L1 so far. */
  hits(): number;
  /** Windows remembered (memory-bound tests). */
  size(): number;
}

/**
 * Wraps `store`. Only consuming checks of cost 1 are answered locally; peeks always go through.
 * A `fast` request's refusal is held at most `fastHoldMs`, an exact one until its retry time.
 */
export function withBlockedCache(
  store: CounterStore,
  clock: Clock,
  fastHoldMs = FAST_HOLD_MS,
): BlockedCacheStore {
  const blocked = new Map<string, Held>();
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
        const holds = (h: Held | undefined) =>
          h !== undefined && h.state.retryAt > now && (!request.fast || h.heldUntil > now);
        if (known.some(holds)) {
          hits++;
          return {
            allowed: false,
            now,
            // Windows that are not blocked are reported as last seen: their remaining can only
            // have grown since, so the headers stay conservative.
            windows: request.windows.map((w, i) => {
              const held = known[i];
              if (held && holds(held)) return held.state;
              if (held) return { ...held.state, retryAt: Math.max(now, held.state.retryAt) };
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
          blocked.set(cacheKey(request, state.id, state.limit, state.windowMs), {
            state,
            heldUntil: now + fastHoldMs,
          });
        }
      } else if (blocked.size) {
        for (const w of request.windows)
          blocked.delete(cacheKey(request, w.id, w.limit, w.windowMs));
      }
      return outcome;
    },
  };
}
