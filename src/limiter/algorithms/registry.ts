/**
 * Every counting algorithm there is, and the one table of Lua scripts they pin: registry.test.ts
 * loops over {@link PINNED_SCRIPTS}, recomputing each SHA-1 and running each script on Redis.
 */
import type { Algorithm, PinnedScript } from '../algorithm';
import { slidingWindow } from './sliding-window/algorithm';

/** Algorithms by name. */
export const ALGORITHMS = { 'sliding-window': slidingWindow } as const satisfies Record<
  string,
  Algorithm
>;

/** Name of an algorithm in {@link ALGORITHMS}. */
export type AlgorithmName = keyof typeof ALGORITHMS;

/** The algorithm every window uses today. */
export const DEFAULT_ALGORITHM: Algorithm = ALGORITHMS['sliding-window'];

/** Every pinned script of every algorithm: its check script and its write-behind merge. */
export const PINNED_SCRIPTS: readonly PinnedScript[] = Object.values(ALGORITHMS).flatMap(
  (a: Algorithm) => [a.script, a.merge],
);
