/** How much work a bench run does (`--quick` or full), and the shapes of the limits it measures. */
import { SAVE_INTERVAL_MS } from '../../src/store/save-plan';

/**
 * Wait after a cell of a Durable Object store: its object saves (storage rows, Redis SET) from an
 * alarm up to SAVE_INTERVAL_MS after the cell's first decision, and those are the cell's to pay.
 */
const SETTLE_MS = SAVE_INTERVAL_MS + 500;

/** How much work one run does. */
export interface Profile {
  readonly name: 'full' | 'quick';
  readonly pairs: number;
  readonly warmupPairs: number;
  readonly cellDeadlineMs: number;
  /** All latency cells together; later cells get shorter deadlines when earlier ones ran long. */
  readonly latencyBudgetMs: number;
  /** Measured throughput per cell, split in ABBA slices of `sliceMs` (see throughput.ts). */
  readonly throughputMs: number;
  /**
   * The default's cells (the bar judges them) run this many times longer: on a shared machine
   * single slices move by a third, and more ABBA blocks average that out [3 full, 1 quick].
   */
  readonly defaultThroughputFactor: number;
  readonly sliceMs: number;
  /** Unmeasured load before each throughput cell, half per side. */
  readonly throughputWarmupMs: number;
  /** Wait after a cell of a Durable Object store so its last save is counted in that cell. */
  readonly settleMs: number;
  readonly pinnedWindows: number;
  readonly realtimeWindows: number;
}

export const PROFILES: Record<'full' | 'quick', Profile> = {
  full: {
    name: 'full',
    pairs: 2000,
    warmupPairs: 200,
    cellDeadlineMs: 40_000,
    latencyBudgetMs: 390_000,
    throughputMs: 4000,
    defaultThroughputFactor: 3,
    sliceMs: 500,
    throughputWarmupMs: 500,
    settleMs: SETTLE_MS,
    pinnedWindows: 50,
    realtimeWindows: 3,
  },
  quick: {
    name: 'quick',
    pairs: 100,
    warmupPairs: 20,
    cellDeadlineMs: 5000,
    latencyBudgetMs: 40_000,
    throughputMs: 1200,
    defaultThroughputFactor: 1,
    sliceMs: 150,
    throughputWarmupMs: 300,
    settleMs: SETTLE_MS,
    pinnedWindows: 10,
    realtimeWindows: 1,
  },
};

/** Simulated Redis round trips, ms. */
export const RTTS = [0, 10] as const;
export const CONCURRENCY = 16;
/** Scaled-down real-time accuracy: 10 requests per 2 s windows. */
export const REALTIME = { limit: 10, windowMs: 2000, window: '2s', upstashWindow: '2 s' } as const;
/** Pinned-time accuracy: the pro tier's shape, 100 per minute. */
export const PINNED = { limit: 100, windowMs: 60_000 } as const;
/** A limit no run reaches: the allowed case. */
export const HUGE_LIMIT = 1_000_000_000;
