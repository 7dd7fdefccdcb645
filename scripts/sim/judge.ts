/**
 * The reference every decision is judged against: the exact sliding log over the limiter's own
 * history. A request allowed at `t` is overshoot when `limit` requests were already allowed in
 * `(t − W, t]` of some window; a request rejected at `t` is a false rejection when every window
 * had room for it. Judged on the instants decisions were taken, per identity, in time order.
 */
import type { TierWindow } from './scenario';

/** What one identity's decisions add up to. */
export interface Judgement {
  readonly decisions: number;
  readonly overshoot: number;
  readonly falseRejections: number;
  /** Most allowed beyond the limit in any window (0 = never over). */
  readonly maxOverLimit: number;
  /** Decisions, and wrong ones, taken while `during` held (e.g. a Redis outage). */
  readonly during: { readonly decisions: number; readonly wrong: number };
  /** Wrong decisions by the cause each was added with (`causes.ts`); empty without causes. */
  readonly byCause: ReadonlyMap<string, CauseCount>;
  /** Requests allowed, and what an exact sliding log deciding the same arrivals alone allows. */
  readonly allowed: number;
  readonly exactAllowed: number;
}

/** An exact sliding log of allowed instants for one window, oldest first (a ring). */
class WindowLog {
  private times: number[] = [];
  private head = 0;

  constructor(private readonly windowMs: number) {}

  /** Instants in `(t - windowMs, t]`; instants given in time order. */
  countAt(t: number): number {
    while (this.head < this.times.length && (this.times[this.head] ?? 0) <= t - this.windowMs)
      this.head++;
    if (this.head > 4096 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
    return this.times.length - this.head;
  }

  /**
   * When the instant that left the window last left it, after a `countAt` (-Infinity: none has
   * left yet, or none is remembered past a compaction).
   */
  lastLeftAt(): number {
    const t = this.times[this.head - 1];
    return t === undefined ? Number.NEGATIVE_INFINITY : t + this.windowMs;
  }

  record(t: number): void {
    this.times.push(t);
  }
}

/**
 * A false rejection this soon after a unit left one of the request's windows is *contested*:
 * the window had just freed that unit, and the exact log gives it to the first request after,
 * wherever that request arrived [50 ms, about a median round trip to an object].
 */
export const CONTESTED_MS = 50;

/** Wrong decisions of one cause. */
export interface CauseCount {
  overshoot: number;
  falseRejections: number;
  /** False rejections within {@link CONTESTED_MS} of a unit leaving a window of the request. */
  contested: number;
  /** Overshoot in a window whose object lost unsaved units to an eviction within it. */
  overshootAfterLoss: number;
}

/** Whether the object lost units within `(t − windowMs, t]` (an eviction of unsaved units). */
export type LossWithin = (t: number, windowMs: number) => boolean;

/** Collects one identity's decisions (instant, allowed) and judges them at the end. */
export class DecisionLog {
  private readonly at: number[] = [];
  private readonly allowed: boolean[] = [];
  private readonly causes: string[] = [];

  constructor(readonly windows: readonly TierWindow[]) {}

  /** One decision; `cause` (the path that took it, see `causes.ts`) only sorts wrong ones. */
  add(at: number, allowed: boolean, cause = ''): void {
    this.at.push(at);
    this.allowed.push(allowed);
    this.causes.push(cause);
  }

  get size(): number {
    return this.at.length;
  }

  judge(during: (t: number) => boolean = () => false, lossWithin?: LossWithin): Judgement {
    const order = this.at.map((_, i) => i).sort((a, b) => (this.at[a] ?? 0) - (this.at[b] ?? 0));
    // The limiter's own history, one log per window; and an exact limiter's on the same arrivals.
    const logs = this.windows.map((w) => new WindowLog(w.windowMs));
    const exact = this.windows.map((w) => new WindowLog(w.windowMs));
    let allowed = 0;
    let exactAllowed = 0;
    let overshoot = 0;
    let falseRejections = 0;
    let maxOverLimit = 0;
    let inside = 0;
    let wrongInside = 0;
    const byCause = new Map<string, CauseCount>();
    const countOf = (i: number): CauseCount => {
      const cause = this.causes[i] ?? '';
      let count = byCause.get(cause);
      if (!count) {
        count = { overshoot: 0, falseRejections: 0, contested: 0, overshootAfterLoss: 0 };
        byCause.set(cause, count);
      }
      return count;
    };
    for (const i of order) {
      const t = this.at[i] ?? 0;
      const phase = during(t);
      if (phase) inside++;
      let over = 0;
      let room = true;
      let afterLoss = false;
      let exactRoom = true;
      this.windows.forEach((w, k) => {
        const count = logs[k]?.countAt(t) ?? 0;
        if (count + 1 > w.limit) {
          room = false;
          over = Math.max(over, count + 1 - w.limit);
          if (lossWithin?.(t, w.windowMs)) afterLoss = true;
        }
        if ((exact[k]?.countAt(t) ?? 0) + 1 > w.limit) exactRoom = false;
      });
      if (exactRoom) {
        exactAllowed++;
        for (const log of exact) log.record(t);
      }
      if (this.allowed[i]) {
        allowed++;
        if (!room) {
          overshoot++;
          if (phase) wrongInside++;
          maxOverLimit = Math.max(maxOverLimit, over);
          const count = countOf(i);
          count.overshoot++;
          if (afterLoss) count.overshootAfterLoss++;
        }
        for (const log of logs) log.record(t);
      } else if (room) {
        falseRejections++;
        if (phase) wrongInside++;
        const count = countOf(i);
        count.falseRejections++;
        const freedAt = Math.max(...logs.map((log) => log.lastLeftAt()));
        if (t - freedAt < CONTESTED_MS) count.contested++;
      }
    }
    return {
      decisions: this.at.length,
      overshoot,
      falseRejections,
      maxOverLimit,
      during: { decisions: inside, wrong: wrongInside },
      byCause,
      allowed,
      exactAllowed,
    };
  }
}
