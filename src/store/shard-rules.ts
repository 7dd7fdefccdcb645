/**
 * The rules for sharding a hot identity (pure): how many objects share an identity whose limits
 * are large, each shard's part of every limit, which shard an isolate uses when, and how one
 * shard's answer reads as the whole identity's. `shard-store.ts` applies them to requests.
 *
 * Why: under `fast` an identity's object answers about one lease renewal per isolate serving it
 * per half lease, so its load grows with the number of isolates, not with the limit; one
 * customer at 20,000 requests a second meets every isolate of every location at once. Split
 * over `S` objects, each isolate talks to one of them at a time, and each object sees about
 * `1 / S` of the isolates.
 */
import { type WindowSpec, type WindowState, windowState } from '../limiter/contract';

/**
 * Units a second one shard is sized for [5,000]: an identity gets one shard per this much of its
 * tightest window's rate (`limit * 1000 / windowMs`), so the simulation's 1.5 million a minute
 * customer (25,000 a second) gets 5. Below it (every free, pro and most enterprise limits) an
 * identity stays on one object, exact per window as before.
 */
export const SHARD_UNITS_PER_SECOND = 5_000;

/** Most shards of one identity [16]. */
export const MAX_SHARDS = 16;

/**
 * Shortest time an isolate stays on one shard [2,000 ms]: each switch is a first contact with
 * the next shard (one ask, its optimism allowance), so switching faster costs asks.
 */
export const MIN_DWELL_MS = 2_000;

/**
 * Marks a shard's identity. No identity `limiter/keys.ts` builds holds a `~`: customer ids are
 * `[A-Za-z0-9_.-]` (`policy/records.ts`), addresses are parsed before they become identities.
 */
const SHARD_MARK = '~shard:';

/**
 * How many objects share an identity checked with `windows`: one unless every window is a plain
 * sliding window (no concurrency, no origin charge: those must be counted in one place), and
 * then `floor(tightest rate / SHARD_UNITS_PER_SECOND)`, from 1 to {@link MAX_SHARDS}.
 * @example shardCount([{ id: 'minute', limit: 1_500_000, windowMs: 60_000 }]) // 5
 */
export function shardCount(windows: readonly WindowSpec[]): number {
  if (windows.length === 0) return 1;
  let rate = Number.POSITIVE_INFINITY;
  for (const w of windows) {
    if (w.kind !== undefined || w.charge !== undefined) return 1;
    rate = Math.min(rate, (w.limit * 1_000) / w.windowMs);
  }
  const count = Math.floor(rate / SHARD_UNITS_PER_SECOND);
  return Math.max(1, Math.min(MAX_SHARDS, count));
}

/**
 * Shard `index`'s part of `limit` when `count` shards share it: `floor(limit / count)`, and one
 * more for the first `limit mod count` shards, so that the parts add up to `limit` exactly.
 * @example [0, 1, 2].map((k) => shardLimit(10, 3, k)) // [4, 3, 3]
 */
export function shardLimit(limit: number, count: number, index: number): number {
  const base = Math.floor(limit / count);
  return index < limit % count ? base + 1 : base;
}

/** `windows` as shard `index` of `count` counts them: each limit its part ({@link shardLimit}). */
export function shardWindows<W extends WindowSpec>(
  windows: readonly W[],
  count: number,
  index: number,
): W[] {
  return windows.map((w) => ({ ...w, limit: shardLimit(w.limit, count, index) }));
}

/**
 * The identity shard `index` is counted under: its own object, its own Redis keys. The count is
 * not in it: when a changed limit changes the count, the shards both counts have keep what they
 * counted (their new parts still add up to the limit), and only what shards beyond the new count
 * held is forgotten.
 * @example shardIdentity('c:big', 2) // 'c:big~shard:2'
 */
export function shardIdentity(identity: string, index: number): string {
  return `${identity}${SHARD_MARK}${index}`;
}

/** The identity a shard's identity belongs to (itself when it is no shard's). */
export function shardedIdentity(identity: string): string {
  const at = identity.indexOf(SHARD_MARK);
  return at < 0 ? identity : identity.slice(0, at);
}

/**
 * How long an isolate stays on one shard: the shortest window split in `count` turns, so that
 * over any such window every isolate spends the same time on every shard (their loads balance
 * whatever each isolate's rate), but at least {@link MIN_DWELL_MS}.
 * @example dwellMs([{ id: 'minute', limit: 1_500_000, windowMs: 60_000 }], 5) // 12000
 */
export function dwellMs(windows: readonly WindowSpec[], count: number): number {
  const shortest = Math.min(...windows.map((w) => w.windowMs));
  return Math.max(MIN_DWELL_MS, Math.floor(shortest / count));
}

/**
 * The shard an isolate uses at `now`: turns of `dwell` ms through the `count` shards, offset by
 * the isolate's `phase` in [0, 1), so that isolates switch at different instants and start on
 * different shards (a deploy's cold isolates all meet the identity at once).
 * @example shardAt(0, 5, 12_000, 0.5) // 2
 */
export function shardAt(now: number, count: number, dwell: number, phase: number): number {
  // The offset in whole ms, added before dividing: `now / dwell + phase * count` rounds the sum,
  // and for a phase just below 1 a turn began a step early or late (a property-test
  // counterexample: count 2, phase 1 - 2^-53, shard 1 held 9 of 16 steps of a window).
  const offset = Math.floor(phase * count * dwell);
  const turn = Math.floor((now + offset) / dwell);
  return ((turn % count) + count) % count;
}

/**
 * One shard's state of a window read as the whole identity's: `limit` the whole limit,
 * `remaining` the shard's share of its part scaled to the whole (an estimate: other shards may
 * have more or less left), `used` what that leaves; the instants are the shard's.
 */
export function wholeState(whole: WindowSpec, part: WindowState): WindowState {
  const remaining =
    part.limit > 0
      ? Math.min(whole.limit, Math.round((part.remaining * whole.limit) / part.limit))
      : 0;
  return { ...part, limit: whole.limit, used: whole.limit - remaining, remaining };
}

/**
 * Every shard's state of one window summed as the whole identity's (a read fans out to all):
 * `used` the sum; more quota comes back at the earliest shard's reset, all of it at the latest
 * shard's; a request of the checked cost is allowed once any shard allows it.
 */
export function summedState(whole: WindowSpec, parts: readonly WindowState[]): WindowState {
  const used = parts.reduce((sum, p) => sum + p.used, 0);
  const fulls = parts.flatMap((p) => (p.fullAt === undefined ? [] : [p.fullAt]));
  const state = windowState(
    whole,
    used,
    Math.min(...parts.map((p) => p.retryAt)),
    Math.min(...parts.map((p) => p.resetAt)),
  );
  return fulls.length > 0 ? { ...state, fullAt: Math.max(...fulls) } : state;
}
