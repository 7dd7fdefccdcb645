/**
 * Every counting algorithm there is, and the one table of Lua scripts they pin: registry.test.ts
 * loops over {@link PINNED_SCRIPTS}, recomputing each SHA-1 and running each script on Redis.
 */
import type { Algorithm, PinnedScript } from '../algorithm';
import { concurrency } from './concurrency/algorithm';
import { slidingWindow } from './sliding-window/algorithm';

/** Algorithms by name. */
export const ALGORITHMS = {
  'sliding-window': slidingWindow,
  concurrency,
} as const satisfies Record<string, Algorithm>;

/** Name of an algorithm in {@link ALGORITHMS}. */
export type AlgorithmName = keyof typeof ALGORITHMS;

/**
 * The algorithm every store uses: sliding windows, plus slots for the requests in flight when a
 * policy sets a concurrency limit (requests without one are exactly the sliding window's).
 */
export const DEFAULT_ALGORITHM: Algorithm = ALGORITHMS.concurrency;

/** Every pinned script of every algorithm, once each (by SHA-1: composites share their parts'). */
export const PINNED_SCRIPTS: readonly PinnedScript[] = [
  ...new Map(
    Object.values(ALGORITHMS)
      .flatMap((a: Algorithm) => [a.script, ...(a.calls ?? [])])
      .map((p) => [p.sha1, p] as const),
  ).values(),
];
