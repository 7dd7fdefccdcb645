/**
 * Why each wrong decision happened: every decision of a run is tagged with the path of the store
 * chain that took it (the lease store's notes, `src/store/decision-path.ts`, and what the
 * decision came to), and overshoot is marked when its object had lost unsaved units to an
 * eviction within the window that overflowed. `simulate.ts` adds the report to its row;
 * `run.ts` prints it ("Wrong decisions by cause").
 */

import type { CheckRequest, CounterStore } from '../../src/limiter/contract';
import type { Outcome } from '../../src/limiter/decide';
import { type DecisionPath, setPathObserver } from '../../src/store/decision-path';
import { type CauseCount, CONTESTED_MS, type Judgement, type LossWithin } from './judge';

/** Wrong decisions of one cause, in total and per tier. */
export interface CauseRow {
  readonly cause: string;
  readonly overshoot: number;
  readonly falseRejections: number;
  /** False rejections within `CONTESTED_MS` of a unit leaving a window (see `judge.ts`). */
  readonly contested: number;
  readonly overshootAfterLoss: number;
  readonly perTier: Record<string, CauseCount>;
}

/** Requests of one cause that waited more than `SLOW_MS`, in total and per tier. */
export interface WaitRow {
  readonly cause: string;
  readonly requests: number;
  /** Their mean added latency, ms. */
  readonly meanMs: number;
  readonly perTier: Record<string, number>;
}

/** Added latency above which a request counts as waiting [1 ms: the p99 goal's bound]. */
export const SLOW_MS = 1;

/** The row's causes of wrong decisions, and what evictions made objects forget. */
export interface CauseReport {
  /** Most wrong decisions first. */
  readonly rows: readonly CauseRow[];
  /** Requests that waited more than `SLOW_MS`, by the path that decided them; most first. */
  readonly waits: readonly WaitRow[];
  readonly evictions: {
    readonly count: number;
    /** Evictions of an object with unsaved units. */
    readonly withLoss: number;
    /** Units forgotten, summed over windows (a unit of a minute and a day window counts twice). */
    readonly unitsLost: number;
  };
}

/**
 * The cause of one decision from the lease store's notes for it: the last path noted, "after
 * wait" when it waited for a renewal first; a failed-open decision by where it failed; a
 * rejection nothing noted came from the L1 above the lease store.
 */
export function causeOf(notes: readonly DecisionPath[], outcome: Outcome): string {
  const last = notes.at(-1);
  if (outcome === 'failed-open' || outcome === 'failed-closed') {
    if (last === 'failing') return 'failed: last renewal failed';
    if (last === 'wait') return 'failed: wait for renewal';
    if (last === 'fail-open-spent') return 'failed: fail-open allowance spent';
    if (last === 'exact') return 'failed: exact path';
    return 'failed: other';
  }
  if (last === undefined) return outcome === 'rejected' ? 'L1 block' : 'untagged';
  return last !== 'wait' && notes.includes('wait') ? `${last} after wait` : last;
}

/** Collects the lease store's notes per decision while a run lasts. */
export class CauseTracker {
  private readonly notes = new WeakMap<CheckRequest, DecisionPath[]>();
  private previous: ReturnType<typeof setPathObserver>;

  /** Starts listening to the lease store (undo with {@link stop}). */
  start(): void {
    this.previous = setPathObserver((request, path) => this.notes.get(request)?.push(path));
  }

  stop(): void {
    setPathObserver(this.previous);
  }

  /**
   * `store` for one decision: the same calls, the same answers; `cause` then names the path that
   * took it. The request object passes unchanged to the lease store (the L1 hands it on), which
   * is how its notes find it.
   */
  track(store: CounterStore): { store: CounterStore; cause(outcome: Outcome): string } {
    const notes: DecisionPath[] = [];
    return {
      store: {
        name: store.name,
        check: (request) => {
          this.notes.set(request, notes);
          return store.check(request);
        },
      },
      cause: (outcome) => causeOf(notes, outcome),
    };
  }
}

/** Evictions that made objects forget units, per identity, to mark overshoot after them. */
export class EvictionLosses {
  private readonly at = new Map<string, number[]>();
  count = 0;
  withLoss = 0;
  unitsLost = 0;

  record(now: number, evicted: readonly { identity: string; unsavedUnits: number }[]): void {
    for (const e of evicted) {
      this.count++;
      if (e.unsavedUnits <= 0) continue;
      this.withLoss++;
      this.unitsLost += e.unsavedUnits;
      const list = this.at.get(e.identity) ?? [];
      list.push(now);
      this.at.set(e.identity, list);
    }
  }

  /** For `identity`: whether an eviction lost units within `(t − windowMs, t]`. */
  lossWithin(identity: string): LossWithin | undefined {
    const list = this.at.get(identity);
    if (!list) return undefined;
    return (t, windowMs) => list.some((e) => e <= t && e > t - windowMs);
  }
}

/** Counts the requests that waited more than `SLOW_MS`, by cause and tier. */
export class WaitTally {
  private readonly byCause = new Map<
    string,
    { requests: number; ms: number; perTier: Record<string, number> }
  >();

  add(cause: string, tier: string, overheadMs: number): void {
    if (!(overheadMs > SLOW_MS)) return;
    let entry = this.byCause.get(cause);
    if (!entry) {
      entry = { requests: 0, ms: 0, perTier: {} };
      this.byCause.set(cause, entry);
    }
    entry.requests++;
    entry.ms += overheadMs;
    entry.perTier[tier] = (entry.perTier[tier] ?? 0) + 1;
  }

  /** Most requests first. */
  rows(): WaitRow[] {
    return [...this.byCause]
      .map(([cause, e]) => ({
        cause,
        requests: e.requests,
        meanMs: e.ms / e.requests,
        perTier: e.perTier,
      }))
      .sort((a, b) => b.requests - a.requests);
  }
}

/** Sums the judgements' causes per tier (`tiers[i]` is the tier of `judged[i]`). */
export function causeReport(
  tiers: readonly string[],
  judged: readonly Judgement[],
  losses: EvictionLosses,
  waits: WaitTally = new WaitTally(),
): CauseReport {
  const byCause = new Map<string, { total: CauseCount; perTier: Record<string, CauseCount> }>();
  const zero = (): CauseCount => ({
    overshoot: 0,
    falseRejections: 0,
    contested: 0,
    overshootAfterLoss: 0,
  });
  judged.forEach((j, i) => {
    const tier = tiers[i] ?? '';
    for (const [cause, n] of j.byCause) {
      let entry = byCause.get(cause);
      if (!entry) {
        entry = { total: zero(), perTier: {} };
        byCause.set(cause, entry);
      }
      const t = entry.perTier[tier] ?? zero();
      entry.perTier[tier] = t;
      for (const c of [entry.total, t]) {
        c.overshoot += n.overshoot;
        c.falseRejections += n.falseRejections;
        c.contested += n.contested;
        c.overshootAfterLoss += n.overshootAfterLoss;
      }
    }
  });
  const rows = [...byCause]
    .map(([cause, { total, perTier }]) => ({ cause, ...total, perTier }))
    .filter((r) => r.overshoot + r.falseRejections > 0)
    .sort((a, b) => b.overshoot + b.falseRejections - (a.overshoot + a.falseRejections));
  return {
    rows,
    waits: waits.rows(),
    evictions: { count: losses.count, withLoss: losses.withLoss, unitsLost: losses.unitsLost },
  };
}

/** The printed table: one line per cause, overshoot + false rejections in total and per tier. */
export function causeLines(
  consistency: string,
  requests: number,
  report: CauseReport,
  tiers: readonly string[],
  table: (headers: string[], rows: string[][]) => string,
): string {
  const pct = (n: number) => `${((100 * n) / Math.max(1, requests)).toFixed(4)}%`;
  const { evictions } = report;
  return [
    `${consistency}: wrong decisions by cause (overshoot + false rejections, requests; ` +
      '"after loss": overshoot in a window whose object had just forgotten unsaved units; ' +
      `"contested": false rejections within ${CONTESTED_MS} ms of a unit leaving the window)`,
    table(
      ['cause', 'overshoot', 'after loss', 'false rej.', 'contested', ...tiers],
      report.rows.map((r) => [
        r.cause,
        `${r.overshoot} (${pct(r.overshoot)})`,
        String(r.overshootAfterLoss),
        `${r.falseRejections} (${pct(r.falseRejections)})`,
        String(r.contested),
        ...tiers.map((t) => {
          const x = r.perTier[t];
          return x ? `${x.overshoot} + ${x.falseRejections}` : '';
        }),
      ]),
    ),
    `evictions ${evictions.count}, of objects with unsaved units ${evictions.withLoss}, ` +
      `units forgotten ${evictions.unitsLost} (summed over windows)`,
    '',
    `${consistency}: requests that waited more than ${SLOW_MS} ms, by cause (the p99 goal leaves ` +
      `1% of all requests to wait: ${Math.floor(requests / 100)} here)`,
    table(
      ['cause', 'requests', 'mean ms', ...tiers],
      report.waits.map((w) => [
        w.cause,
        `${w.requests} (${pct(w.requests)})`,
        w.meanMs.toFixed(1),
        ...tiers.map((t) => (w.perTier[t] ? String(w.perTier[t]) : '')),
      ]),
    ),
  ].join('\n');
}
